import { Injectable } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { EventBus, EventQueues, OnEvent, ShouldQueue, type EventEnvelope } from 'nestjs-events';
import { MailBounced } from '../fixtures/mail-bounced.event.js';
import { createTestApp } from '../support/create-test-app.js';
import { runCli } from '../support/cli-runner.js';
import { useCliFixture } from '../support/cli-fixture.js';
import { waitFor } from '../support/wait-for.js';

@Injectable()
class FailingMailer {
  @OnEvent('mail.*')
  @ShouldQueue({ queue: 'emails', tries: 1 })
  send(_event: EventEnvelope) {
    throw new Error('smtp down');
  }
}

// Each run boots Node, Nest and a Redis connection in a child process: seconds on a loaded machine.
describe(
  'nestjs-events CLI: queues and dead letters (the built binary against Redis)',
  { timeout: 120_000 },
  () => {
    const fixture = useCliFixture();
    let seq = 0;

    /**
     * `n` dead jobs in "emails" under a new prefix (`bounced` more, tagged by tenant, after them);
     * the app (no worker left) inspects the result.
     */
    async function seed(n: number, bounced: string[] = []) {
      const prefix = `cli-${++seq}`;
      const { url } = fixture.server;
      const worker = await createTestApp({ providers: [FailingMailer] }, { redis: url, prefix });
      for (let i = 0; i < n; i++) await worker.get(EventBus).emit('mail.sent', { i });
      for (const tenant of bounced) await worker.get(EventBus).emit(new MailBounced(tenant));
      await worker.get(EventQueues).drain();
      await worker.close();
      const app = await fixture.app(
        { providers: [FailingMailer] },
        { redis: url, prefix, worker: false },
      );
      const queues = app.get(EventQueues);
      const cli = (...args: string[]) => fixture.cli(prefix, ...args);
      return { prefix, queues, cli, dead: await queues.listDead('emails') };
    }

    it('queues: a table and --json with the counts of EventQueues', async () => {
      const { queues, cli } = await seed(2);
      const human = await cli('queues');
      expect(human.code).toBe(0);
      expect(human.stdout).toMatch(
        /^QUEUE\s+WAITING\s+DELAYED\s+ACTIVE\s+COMPLETED\s+FAILED\s+DEAD/,
      );
      expect(human.stdout).toMatch(/emails\s+0\s+0\s+0\s+0\s+2\s+2\s+no/);
      const json = await cli('queues', '--json');
      expect(json.code).toBe(0);
      const counts = await queues.counts('emails');
      const rows = JSON.parse(json.stdout) as { queue: string }[];
      expect(rows.find((row) => row.queue === 'emails')).toEqual({
        queue: 'emails',
        ...counts,
        paused: false,
      });
    });

    it('dead:list: jobs with their error, pages with --offset/--limit, --json parsed', async () => {
      const { cli, dead } = await seed(3);
      const human = await cli('dead:list', 'emails');
      expect(human.code).toBe(0);
      for (const job of dead) expect(human.stdout).toContain(job.id);
      expect(human.stdout).toMatch(
        /mail\.sent\s+FailingMailer\.send\s+1\s+failed\s+\S+\s+-\s+smtp down/,
      );
      const page = await cli('dead:list', 'emails', '--offset', '1', '--limit', '1', '--json');
      expect(page.code).toBe(0);
      const listed = JSON.parse(page.stdout);
      expect(listed).toHaveLength(1);
      expect(listed[0]).toMatchObject({
        id: dead[1].id,
        error: 'smtp down',
        reason: 'failed',
        payload: { name: 'mail.sent', data: { i: 1 } },
      });
      const after = await cli('dead:list', 'emails', '--after', dead[0].id, '--json');
      expect(JSON.parse(after.stdout).map((j: { id: string }) => j.id)).toEqual([
        dead[1].id,
        dead[2].id,
      ]);
    });

    it('dead:list --tag: only the dead jobs whose event carried the tag, shown with their tags', async () => {
      const { cli, dead } = await seed(1, ['acme', 'globex', 'acme']);
      const acme = dead.filter((job) => job.tags.includes('tenant:acme'));
      expect(acme).toHaveLength(2);
      const human = await cli('dead:list', 'emails', '--tag', 'tenant:acme');
      expect(human.code).toBe(0);
      expect(human.stdout).toMatch(
        /mail\.bounced\s+FailingMailer\.send\s+1\s+failed\s+\S+\s+tenant:acme,bounce\s+smtp down/,
      );
      expect(human.stdout.trim().split('\n')).toHaveLength(3);
      const json = await cli('dead:list', 'emails', '--tag', 'tenant:acme', '--json');
      expect(json.code).toBe(0);
      const listed = JSON.parse(json.stdout) as { id: string; tags: string[] }[];
      expect(listed.map((job) => job.id)).toEqual(acme.map((job) => job.id));
      expect(listed[0].tags).toEqual(['tenant:acme', 'bounce']);
      const paged = await cli(
        'dead:list',
        'emails',
        '--tag',
        'tenant:acme',
        '--offset',
        '1',
        '--json',
      );
      expect(JSON.parse(paged.stdout).map((job: { id: string }) => job.id)).toEqual([acme[1].id]);
      const none = await cli('dead:list', 'emails', '--tag', 'tenant:initech');
      expect(none).toMatchObject({ code: 0 });
      expect(none.stdout).toContain('No dead jobs tagged "tenant:initech" in "emails".');
    });

    it('queue:obliterate: refused while a worker reads the queue (exit 1), --in-use forces it', async () => {
      const prefix = `cli-${++seq}`;
      const { url } = fixture.server;
      const app = await fixture.app({ providers: [FailingMailer] }, { redis: url, prefix });
      await app.get(EventBus).emit('mail.sent', { i: 0 });
      await app.get(EventBus).emit('mail.later', { i: 1 }, { delay: 60_000 });
      const queues = app.get(EventQueues);
      await waitFor(async () => (await queues.counts('emails')).dead === 1);
      const refused = await fixture.cli(prefix, 'queue:obliterate', 'emails', '--force');
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^QueueInUseError: .*"emails"/m);
      expect(await queues.counts('emails')).toMatchObject({ delayed: 1, dead: 1 });
      const forced = await fixture.cli(prefix, 'queue:obliterate', 'emails', '--force', '--in-use');
      expect(forced).toMatchObject({ code: 0 });
      expect(forced.stdout).toContain('Obliterated "emails": 2 job(s) removed.');
      expect(await queues.counts('emails')).toMatchObject({ waiting: 0, delayed: 0, dead: 0 });
    });

    it('dead:retry: by id (unknown ids exit 1) and --all', async () => {
      const { queues, cli, dead } = await seed(3);
      const one = await cli('dead:retry', 'emails', dead[0].id);
      expect(one).toMatchObject({ code: 0 });
      expect(one.stdout).toContain('Retried 1 dead job(s)');
      expect(await queues.counts('emails')).toMatchObject({ dead: 2, waiting: 1 });
      const missing = await cli('dead:retry', 'emails', 'no-such-job', '--json');
      expect(missing.code).toBe(1);
      expect(JSON.parse(missing.stdout)).toEqual({
        queue: 'emails',
        retried: 0,
        missing: ['no-such-job'],
      });
      const all = await cli('dead:retry', 'emails', '--all');
      expect(all).toMatchObject({ code: 0 });
      expect(await queues.counts('emails')).toMatchObject({ dead: 0, waiting: 3 });
      expect((await cli('dead:retry', 'emails')).code).toBe(2);
    });

    it('dead:purge, dead:forget, dead:prune, queue:obliterate: refused without a terminal unless --force', async () => {
      const { queues, cli, dead } = await seed(3);
      const refusals = await Promise.all([
        cli('dead:purge', 'emails'),
        cli('dead:forget', 'emails', dead[0].id),
        cli('dead:prune', 'emails', '--hours', '1'),
        cli('queue:obliterate', 'emails'),
      ]);
      for (const refused of refusals) {
        expect(refused.code).toBe(2);
        expect(refused.stderr).toContain('pass --force');
      }
      expect((await queues.counts('emails')).dead).toBe(3);

      const forget = await cli('dead:forget', 'emails', dead[0].id, '--force');
      expect(forget).toMatchObject({ code: 0 });
      expect((await queues.counts('emails')).dead).toBe(2);
      const prune = await cli('dead:prune', 'emails', '--hours', '1', '--force');
      expect(prune.stdout).toContain('Deleted 0 dead job(s)');
      const purge = await cli('dead:purge', 'emails', '--force');
      expect(purge).toMatchObject({ code: 0 });
      expect(purge.stdout).toContain('Deleted 2 dead job(s)');
      expect((await queues.counts('emails')).dead).toBe(0);

      // --in-use: the seeding worker may have read the queue within the in-use window.
      const obliterate = await cli('queue:obliterate', 'emails', '--force', '--in-use');
      expect(obliterate).toMatchObject({ code: 0 });
      expect(obliterate.stdout).toContain('Obliterated "emails"');
      const left = JSON.parse((await cli('queues', '--json')).stdout) as { queue: string }[];
      expect(left.map((row) => row.queue)).not.toContain('emails');
    });

    it('dead:prune deletes what died before --hours', async () => {
      const { queues, cli } = await seed(2);
      const died = Math.max(...(await queues.listDead('emails')).map((j) => j.failedAt));
      // 0.00001 h = 36 ms: wait until both died longer ago than that (by our clock and Redis's).
      while (Date.now() - died < 100) await new Promise((resolve) => setTimeout(resolve, 20));
      const prune = await cli('dead:prune', 'emails', '--hours', '0.00001', '--force');
      expect(prune).toMatchObject({ code: 0 });
      expect(prune.stdout).toContain('Deleted 2 dead job(s)');
    });

    it('monitor: exit 1 when a queue has more than --max waiting jobs, 0 otherwise', async () => {
      const { cli, dead, queues } = await seed(2);
      await queues.retryDead('emails', dead[0].id);
      const over = await cli('monitor', 'emails', '--max', '0', '--json');
      expect(over.code).toBe(1);
      expect(JSON.parse(over.stdout)).toEqual([
        { queue: 'emails', waiting: 1, max: 0, isOver: true },
      ]);
      expect(over.stderr).toContain('"emails" (1) over 0 waiting job(s)');
      const fine = await cli('monitor', 'emails', '--max', '1');
      expect(fine.code).toBe(0);
      expect(fine.stdout).toMatch(/emails\s+1\s+1\s+ok/);
    });

    it('usage errors exit 2: unknown queue, unknown command, bad number, no Redis', async () => {
      const { cli } = await seed(1);
      const unknown = await cli('dead:list', 'nope');
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('UnknownQueueError: Unknown queue "nope"');
      expect((await cli('frobnicate')).code).toBe(2);
      const badLimit = await cli('dead:list', 'emails', '--limit', 'ten');
      expect(badLimit.code).toBe(2);
      expect(badLimit.stderr).toContain('expected a whole number from 1');
      const noRedis = await runCli(['queues']);
      expect(noRedis.code).toBe(2);
      expect(noRedis.stderr).toContain('EVENTS_REDIS_URL');
    });

    it('EVENTS_REDIS_URL and EVENTS_PREFIX connect it as --redis and --prefix do', async () => {
      const { prefix } = await seed(1);
      const run = await runCli(['queues', '--json'], {
        EVENTS_REDIS_URL: fixture.server.url,
        EVENTS_PREFIX: prefix,
      });
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toContainEqual(
        expect.objectContaining({ queue: 'emails', dead: 1 }),
      );
    });
  },
);
