import { Injectable } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { OrchestratedSaga, SagaManager, SagaStep } from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { waitFor } from '../support/wait-for.js';
import { type WorkerProcess } from '../fixtures/processes/worker-processes.js';
import { useWorkerProcesses } from '../fixtures/processes/use-worker-processes.js';

/** The starting side: the same saga (name, steps) as saga-worker.mjs, never run here. */
@OrchestratedSaga({ name: 'crashy' })
@Injectable()
class CrashySaga {
  @SagaStep({ compensate: 'undoOne', tries: 2, backoff: 0 })
  one(): void {}
  @SagaStep({ tries: 1 })
  two(): void {}
  @SagaStep({ tries: 2, backoff: 0 })
  three(): void {}
  undoOne(): void {}
}

const rig = useWorkerProcesses();
async function worker(
  prefix: string,
  crash: boolean | 'end',
  env: Record<string, string> = {},
): Promise<WorkerProcess> {
  return rig.start('./saga-worker.mjs', prefix, {
    CRASH: crash === 'end' ? 'end' : crash ? '1' : '0',
    ...env,
  });
}

describe('Orchestrated sagas across processes', () => {
  it('kill -9 of a worker inside step 3: every saga ends completed or compensated', async () => {
    const prefix = `saga-crash-${process.pid}`;
    const starter = await createTestApp(
      { providers: [CrashySaga] },
      { redis: rig.server.url, prefix, worker: false },
    );
    try {
      const sagas = starter.get(SagaManager);
      const first = await worker(prefix, true);
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) {
        ids.push(await sagas.start('crashy', { fail: i % 4 === 0 }, { id: `s${i}` }));
      }
      expect(await first.exited).toBe('SIGKILL');
      const second = await worker(prefix, false);
      await waitFor(
        async () => {
          const all = await sagas.list({ name: 'crashy' });
          return (
            all.length === 12 && all.every((s) => ['completed', 'compensated'].includes(s.status))
          );
        },
        { timeoutMs: 120_000, message: 'every saga over' },
      );
      for (const [i, id] of ids.entries()) {
        const info = await sagas.get(id);
        expect(info?.status).toBe(i % 4 === 0 ? 'compensated' : 'completed');
      }
      const ran = await rig.redis.lrange(`${prefix}:test:ran`, 0, -1);
      // Step 3 of the killed attempt ran again in the second process.
      const secondPid = String(second.child.pid);
      expect(ran.some((line) => line.includes(' three ') && line.endsWith(secondPid))).toBe(true);
      // Each compensated saga undid step 1 (once or more: at-least-once), and never ran step 3.
      for (const id of ids.filter((_, i) => i % 4 === 0)) {
        expect(ran.some((line) => line.startsWith(`${id} undoOne`))).toBe(true);
        expect(ran.some((line) => line.startsWith(`${id} three`))).toBe(false);
      }
    } finally {
      await starter.close();
    }
  }, 180_000);

  it('kill -9 between a final write and its ending event: the event is received once', async () => {
    const prefix = `saga-end-${process.pid}`;
    const starter = await createTestApp(
      { providers: [CrashySaga] },
      { redis: rig.server.url, prefix, worker: false },
    );
    try {
      const sagas = starter.get(SagaManager);
      const first = await worker(prefix, 'end');
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) {
        ids.push(await sagas.start('crashy', { fail: i % 3 === 0 }, { id: `e${i}` }));
      }
      expect(await first.exited).toBe('SIGKILL');
      await worker(prefix, false, { SWEEP: '300' });
      const endedOf = async (): Promise<string[]> =>
        (await rig.redis.lrange(`${prefix}:test:ended`, 0, -1)).map((line) => line.split(' ')[0]);
      await waitFor(async () => new Set(await endedOf()).size === ids.length, {
        timeoutMs: 120_000,
        message: 'every ending event received',
      });
      // The saga whose process died after its final write is over, and its event came once.
      const crashed = await rig.redis.get(`${prefix}:test:crashed`);
      expect(crashed).toBe('1');
      for (const [i, id] of ids.entries()) {
        expect((await sagas.get(id))?.status).toBe(i % 3 === 0 ? 'compensated' : 'completed');
      }
      // Once no saga is active, no sweep re-emits anything: each event was taken once.
      await waitFor(async () => (await rig.redis.zcard(`{${prefix}:sagas}:active`)) === 0, {
        message: 'every ending marked out',
      });
      expect((await endedOf()).sort()).toEqual([...ids].sort());
    } finally {
      await starter.close();
    }
  }, 180_000);
});
