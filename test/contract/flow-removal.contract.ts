import type { INestApplicationContext } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_TRANSPORT } from 'nestjs-events';
import type { QueueTransport } from '../../lib/queue/queue-transport.interface.js';
import { createTestApp } from '../support/create-test-app.js';
import type { ContractTarget } from './queue-transport.contract.js';

function job(id: string, listener: string, tag: string, delayMs = 0) {
  return { id, queue: 'removal', listener, payload: JSON.stringify({ tag }), delayMs };
}

/**
 * `QueueTransport.removeMatching` (behind `cancelOn`): removes a listener's waiting and delayed
 * jobs whose payload matches, reports its matching running ones, and leaves everything else.
 */
export function runFlowRemovalContract(target: ContractTarget): void {
  describe(`flow removal contract: ${target.name}`, () => {
    const apps: INestApplicationContext[] = [];
    beforeAll(async () => target.beforeAll?.());
    afterAll(async () => target.afterAll?.());
    afterEach(async () => {
      await Promise.all(apps.splice(0).map((app) => app.close()));
    });

    it('removes matching waiting and delayed jobs of one listener and reports its matching running one', async () => {
      const app = await createTestApp({}, { ...(await target.options()), worker: false });
      apps.push(app);
      const transport = app.get<QueueTransport>(QUEUE_TRANSPORT);
      await transport.enqueue([job('run', 'L', 'x')]);
      const controller = new AbortController();
      const [running] = await transport.reserve('removal', 1, controller.signal);
      expect(running.id).toBe('run');
      await transport.enqueue([
        job('w1', 'L', 'x'),
        job('w2', 'L', 'y'),
        job('w3', 'M', 'x'),
        job('d1', 'L', 'x', 60_000),
        job('d2', 'L', 'y', 60_000),
      ]);
      const isX = (payload: string): boolean =>
        (JSON.parse(payload) as { tag: string }).tag === 'x';
      const result = await transport.removeMatching('removal', 'L', isX);
      expect(result).toEqual({ removed: 2, running: ['run'] });
      expect(await transport.counts('removal')).toMatchObject({
        waiting: 2,
        delayed: 1,
        active: 1,
      });
      const waiting = await transport.listJobs('removal', 'waiting', 0, 10);
      expect(waiting.map((j) => j.id)).toEqual(['w2', 'w3']);
      const delayed = await transport.listJobs('removal', 'delayed', 0, 10);
      expect(delayed.map((j) => j.id)).toEqual(['d2']);
      // What was left still runs in order, and the running job settles as usual.
      await transport.ack(running);
      const next = await transport.reserve('removal', 2, controller.signal);
      expect(next.map((j) => j.id)).toEqual(['w2', 'w3']);
      expect(await transport.removeMatching('none', 'L', isX)).toEqual({ removed: 0, running: [] });
      controller.abort();
    });

    it('removes matching jobs waiting in groups; getJob and counts see the groups', async () => {
      const app = await createTestApp({}, { ...(await target.options()), worker: false });
      apps.push(app);
      const transport = app.get<QueueTransport>(QUEUE_TRANSPORT);
      const inGroup = (id: string, tag: string, group: string) => ({
        ...job(id, 'L', tag),
        group: { id: group, weight: 1, concurrency: 0, rateMax: 0, rateMs: 0 },
      });
      await transport.enqueue([
        inGroup('a1', 'x', 'A'),
        inGroup('a2', 'y', 'A'),
        inGroup('b1', 'x', 'B'),
        { ...inGroup('d1', 'x', 'B'), delayMs: 60_000 },
      ]);
      expect(await transport.counts('removal')).toMatchObject({ waiting: 3, delayed: 1 });
      expect(await transport.getJob('removal', 'b1')).toMatchObject({ id: 'b1', state: 'waiting' });
      const isX = (payload: string): boolean =>
        (JSON.parse(payload) as { tag: string }).tag === 'x';
      expect(await transport.removeMatching('removal', 'L', isX)).toEqual({
        removed: 3,
        running: [],
      });
      expect(await transport.counts('removal')).toMatchObject({ waiting: 1, delayed: 0 });
      expect(await transport.getJob('removal', 'b1')).toBeUndefined();
      // Group B is gone; A still runs its job.
      expect((await transport.groups('removal', 0, 10)).map((g) => g.id)).toEqual(['A']);
      const controller = new AbortController();
      const next = await transport.reserve('removal', 5, controller.signal, { isGrouped: true });
      expect(next.map((j) => j.id)).toEqual(['a2']);
      controller.abort();
    });
  });
}
