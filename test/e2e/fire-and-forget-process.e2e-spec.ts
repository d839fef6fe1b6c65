import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait-for.js';
import {
  compileLibrary,
  killAll,
  startWorkerProcess,
  type WorkerProcess,
} from '../fixtures/processes/worker-processes.js';

let server: RedisServer;
let lib: string;
const children: WorkerProcess[] = [];

beforeAll(async () => {
  lib = compileLibrary();
  server = await startRedisServer();
}, 120_000);
afterAll(async () => {
  await server?.stop();
});
afterEach(() => killAll(children));

const FAILED_EMIT = /ERROR.*Emit of "ff\.tick" \(([0-9A-Z]{26})\) failed/g;

it('an un-awaited emit whose job cannot be stored is logged and never ends the process', async () => {
  const child = await startWorkerProcess('./fire-and-forget.mjs', {
    EVENTS_LIB: lib,
    REDIS_URL: server.url,
    PREFIX: 'ff-1',
    // Node's default, spelled out: an unhandled rejection ends the process.
    NODE_OPTIONS: '--unhandled-rejections=throw',
    NO_COLOR: '1',
  });
  children.push(child);
  const isGone = (): boolean => child.child.exitCode !== null || child.child.signalCode !== null;
  await waitFor(() => child.output.includes('PROBE ok') || isGone(), { timeoutMs: 15_000 });
  expect(child.output).toContain('PROBE ok');

  await server.kill();
  // Many un-awaited emits fail while Redis is down; each is logged with its name and id.
  const failedIds = (): string[] => [...child.output.matchAll(FAILED_EMIT)].map((m) => m[1]);
  await waitFor(
    () =>
      isGone() ||
      (failedIds().length >= 20 &&
        child.output.includes('PROBE failed TransportError EVENTS_TRANSPORT_FAILED')),
    { timeoutMs: 15_000, message: 'failed emits logged' },
  );
  expect(isGone(), `the producer process ended:\n${child.output.slice(-3000)}`).toBe(false);
  expect(new Set(failedIds()).size).toBe(failedIds().length);
  // An awaited emit still rejects with the typed error.
  expect(child.output).toContain('PROBE failed TransportError EVENTS_TRANSPORT_FAILED');
});
