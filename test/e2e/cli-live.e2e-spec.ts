import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Injectable } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBus, EventQueues, OnEvent, ShouldQueue, type EventEnvelope } from 'nestjs-events';
import { runCli, spawnCli } from '../support/cli-runner.js';
import { useCliFixture } from '../support/cli-fixture.js';
import { createTestDatabase, skipPostgres, type TestDatabase } from '../support/postgres.js';
import { waitFor } from '../support/wait-for.js';

@Injectable()
class FailingOrders {
  @OnEvent('order.*')
  @ShouldQueue({ queue: 'orders', tries: 1 })
  handle(_event: EventEnvelope) {
    throw new Error('warehouse down');
  }
}

describe(
  'nestjs-events CLI: tail, listeners, replay (the built binary)',
  { timeout: 120_000 },
  () => {
    const fixture = useCliFixture();

    it('tail prints the jobs and dead letters of events emitted after it started, filtered by pattern', async () => {
      const prefix = 'cli-tail';
      const app = await fixture.app(
        { providers: [FailingOrders] },
        { redis: fixture.server.url, prefix },
      );
      const bus = app.get(EventBus);
      await bus.emit('order.placed', { n: 0 }); // before the tail: not shown
      await app.get(EventQueues).drain();

      const tail = spawnCli([
        '--redis',
        fixture.server.url,
        '--prefix',
        prefix,
        'tail',
        'order.shipped',
      ]);
      let stdout = '';
      let stderr = '';
      tail.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      tail.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => tail.once('close', resolve));
      try {
        await waitFor(() => stderr.includes('Watching every queue'), {
          timeoutMs: 60_000,
          message: 'the tail to start',
        });
        // A job that enters and dies between two reads of the tail is missed (documented for
        // watch): the queue holds it until the tail has shown it.
        const queues = app.get(EventQueues);
        await queues.pause('orders');
        await bus.emit('order.placed', { n: 1 }); // filtered out by the pattern
        await bus.emit('order.shipped', { n: 2 });
        await waitFor(() => /\bjob\s+orders\s+order\.shipped\s/.test(stdout), {
          timeoutMs: 30_000,
          message: 'the job in the tail',
        });
        await queues.resume('orders');
        await waitFor(
          () => /\bdead\s+orders\s+order\.shipped\s.*failed: warehouse down/.test(stdout),
          {
            timeoutMs: 30_000,
            message: 'the dead letter in the tail',
          },
        );
        expect(stdout).not.toContain('order.placed');
      } finally {
        tail.kill('SIGTERM');
      }
      expect(await exited).toBe(0);
    });

    it('tail --json prints one parsable object per line', async () => {
      const prefix = 'cli-tail-json';
      const producer = await fixture.app(
        { providers: [FailingOrders] },
        { redis: fixture.server.url, prefix, worker: false },
      );
      await producer.get(EventBus).emit('order.placed', { n: 6 }); // makes the queue known
      const tail = spawnCli([
        '--redis',
        fixture.server.url,
        '--prefix',
        prefix,
        'tail',
        '--queue',
        'orders',
        '--json',
      ]);
      let stdout = '';
      let stderr = '';
      tail.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      tail.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => tail.once('close', resolve));
      try {
        await waitFor(() => stderr.includes('Watching orders'), {
          timeoutMs: 60_000,
          message: 'the tail to start',
        });
        await producer.get(EventBus).emit('order.shipped', { n: 7 });
        await waitFor(() => stdout.includes('\n'), { timeoutMs: 30_000 });
        const line = JSON.parse(stdout.split('\n')[0]);
        expect(line).toMatchObject({
          type: 'job',
          job: {
            queue: 'orders',
            listener: 'FailingOrders.handle',
            state: 'waiting',
            attemptsMade: 0,
            payload: { name: 'order.shipped', data: { n: 7 } },
          },
        });
      } catch (error) {
        throw new Error(`${(error as Error).message}\nstdout: ${stdout}\nstderr: ${stderr}`, {
          cause: error,
        });
      } finally {
        tail.kill('SIGINT');
      }
      expect(await exited).toBe(0);
    });

    it('listeners --app: the listeners of a compiled app module, as a table and --json', async () => {
      const app = 'test/fixtures/cli/app.module.mjs';
      const json = await runCli(['listeners', '--app', app, '--json']);
      expect(json.code).toBe(0);
      expect(JSON.parse(json.stdout)).toEqual([
        {
          id: 'OrderListeners.audit',
          patterns: ['order.*'],
          priority: 5,
          isQueued: false,
        },
        {
          id: 'OrderListeners.sendConfirmation',
          patterns: ['order.shipped'],
          priority: 0,
          isQueued: true,
          queue: 'emails',
        },
      ]);
      const human = await runCli(['listeners', '--app', `${app}#AppModule`]);
      expect(human.code).toBe(0);
      expect(human.stdout).toMatch(
        /OrderListeners\.sendConfirmation\s+order\.shipped\s+0\s+emails/,
      );
      const missing = await runCli(['listeners', '--app', 'test/fixtures/cli/nope.mjs']);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('no such file');
    });

    describe.skipIf(skipPostgres)('replay', () => {
      let db: TestDatabase;
      let dir: string;
      beforeAll(async () => {
        db = await createTestDatabase();
        dir = mkdtempSync(join(tmpdir(), 'nestjs-events-cli-'));
      });
      afterAll(async () => {
        await db?.drop();
        rmSync(dir, { recursive: true, force: true });
      });

      it('replay --app --to <Listener>: delivers the stored events, with progress and a result', async () => {
        const recorder = await fixture.app({}, { store: { postgres: db.url, record: true } });
        const bus = recorder.get(EventBus);
        for (let n = 1; n <= 3; n++) await bus.emit('order.placed', { n });
        await bus.emit('invoice.paid', { n: 4 });
        await bus.emit('order.cancelled', { n: 5 });

        const out = join(dir, 'projection.log');
        const env = { CLI_TEST_PG_URL: db.url, CLI_TEST_OUT: out };
        const app = 'test/fixtures/cli/replay-app.module.mjs';
        const run = await runCli(
          [
            'replay',
            '--app',
            app,
            '--to',
            'OrderProjection',
            '--pattern',
            'order.placed',
            '--progress-every',
            '1',
            '--json',
          ],
          env,
        );
        expect(run.code).toBe(0);
        expect(JSON.parse(run.stdout)).toMatchObject({
          events: 3,
          deliveries: 3,
          isComplete: true,
        });
        expect(run.stderr).toContain('replay: 1 events, 1 deliveries');
        expect(readFileSync(out, 'utf8')).toBe(
          'order.placed 1 true\norder.placed 2 true\norder.placed 3 true\n',
        );
        const from = await runCli(
          ['replay', '--app', app, '--to', 'OrderProjection.onOrder', '--from-position', '5'],
          env,
        );
        expect(from.code).toBe(0);
        expect(from.stdout).toContain('Replayed 1 event(s) (1 deliveries)');
        const unknown = await runCli(['replay', '--app', app, '--to', 'Nobody'], env);
        expect(unknown.code).toBe(2);
        expect(unknown.stderr).toContain('--to Nobody: no such listener');
      });
    });
  },
);
