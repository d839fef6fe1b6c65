import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EventBus, EventQueues, OnEvent, ShouldQueue } from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { runCli, ensureBuiltCli } from '../support/cli-runner.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';

@Injectable()
class TenantMailer {
  @OnEvent('mail.sent')
  @ShouldQueue({ queue: 'emails', group: 'tenantId' })
  send() {}
}

// Each run boots Node, Nest and a Redis connection in a child process: seconds on a loaded machine.
describe('nestjs-events CLI: groups (the built binary against Redis)', { timeout: 120_000 }, () => {
  let server: RedisServer;
  const apps: INestApplicationContext[] = [];
  let seq = 0;

  beforeAll(async () => {
    ensureBuiltCli();
    server = await startRedisServer();
  }, 240_000);
  afterAll(async () => {
    await server?.stop();
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });

  /** Jobs waiting in groups "acme" (2) and "globex" (1), no worker. */
  async function seed() {
    const prefix = `cli-groups-${++seq}`;
    const app = await createTestApp(
      { providers: [TenantMailer] },
      { redis: server.url, prefix, worker: false },
    );
    apps.push(app);
    const bus = app.get(EventBus);
    await bus.emit('mail.sent', {}, { metadata: { tenantId: 'acme' } });
    await bus.emit('mail.sent', {}, { metadata: { tenantId: 'globex' } });
    await bus.emit('mail.sent', {}, { metadata: { tenantId: 'acme' } });
    const cli = (...args: string[]) => runCli(['--redis', server.url, '--prefix', prefix, ...args]);
    return { queues: app.get(EventQueues), cli };
  }

  it('groups: a table and --json of EventQueues.groups, paged', async () => {
    const { queues, cli } = await seed();
    const human = await cli('groups', 'emails');
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^GROUP\s+WAITING\s+ACTIVE\s+PAUSED\s+LIMITED UNTIL/);
    expect(human.stdout).toMatch(/acme\s+2\s+0\s+no/);
    expect(human.stdout).toMatch(/globex\s+1\s+0\s+no/);
    const json = await cli('groups', 'emails', '--json', '--offset', '1', '--limit', '1');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(await queues.groups('emails', { offset: 1, limit: 1 }));
    expect(JSON.parse(json.stdout)).toEqual([
      { id: 'globex', waiting: 1, active: 0, paused: false },
    ]);
  });

  it('group:pause and group:resume', async () => {
    const { queues, cli } = await seed();
    const paused = await cli('group:pause', 'emails', 'acme');
    expect(paused.code).toBe(0);
    expect(paused.stdout).toContain('Paused group "acme" of "emails".');
    expect((await queues.groups('emails'))[0]).toMatchObject({ id: 'acme', paused: true });
    const resumed = await cli('group:resume', 'emails', 'acme');
    expect(resumed.code).toBe(0);
    expect((await queues.groups('emails'))[0]).toMatchObject({ id: 'acme', paused: false });
    const unknown = await cli('groups', 'nope');
    expect(unknown.code).not.toBe(0);
  });
});
