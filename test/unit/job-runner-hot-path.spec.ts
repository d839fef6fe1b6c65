import { AsyncLocalStorage } from 'node:async_hooks';
import { Logger } from '@nestjs/common';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventContext, type EventEnvelope, type ListenerContext } from 'nestjs-events';
import type { ListenerDefinition } from '../../lib/discovery/listener-definition.js';
import { ListenerRegistry } from '../../lib/discovery/listener.registry.js';
import { serializeEnvelope } from '../../lib/event/event.serializer.js';
import { InFlight } from '../../lib/queue/in-flight.js';
import { JobRunner } from '../../lib/queue/job-runner.js';
import { JobSettler } from '../../lib/queue/job-settler.js';
import type { ReservedJob } from '../../lib/queue/queue-job.js';
import type { QueueTransport } from '../../lib/queue/queue-transport.interface.js';
import { promisesUntilSettled } from '../support/promise-count.js';

/** A transport that acknowledges at once: what is left to count is the runner's own work. */
function acking(): { transport: QueueTransport; acked: string[] } {
  const acked: string[] = [];
  const transport = {
    ack: (job: ReservedJob) => {
      acked.push(job.id);
      return Promise.resolve();
    },
  } as unknown as QueueTransport;
  return { transport, acked };
}

function listener(invoke: ListenerDefinition['invoke'], isAsync: boolean): ListenerDefinition {
  return {
    id: 'Hot.handle',
    patterns: ['hot.path'],
    priority: 0,
    info: { id: 'Hot.handle', isQueued: true },
    invoke,
    isAsync,
    queue: { queue: 'hot', tries: 3, backoff: 0, timeout: 0, delay: 0 },
    eventClasses: [],
  } as ListenerDefinition;
}

function job(n: number): ReservedJob {
  const envelope: EventEnvelope = {
    id: `e${n}`,
    name: 'hot.path',
    data: { n },
    metadata: { correlationId: `e${n}` },
    timestamp: 1,
  };
  return {
    id: `e${n}:Hot.handle`,
    queue: 'hot',
    listener: 'Hot.handle',
    payload: serializeEnvelope(envelope, 1 << 20),
    attempt: 1,
    enqueuedAt: 1,
    receipt: `1-${n}/1`,
  };
}

function runner(definition: ListenerDefinition, transport: QueueTransport) {
  const registry = new ListenerRegistry();
  registry.add(definition);
  const inFlight = new InFlight();
  const settler = new JobSettler(transport, new AbortController().signal);
  const run = new JobRunner(
    settler,
    registry,
    inFlight,
    { unknownListenerGraceMs: 0 },
    () => undefined,
  );
  return { run, inFlight };
}

/** Runs `jobs` one after another and waits for their acks. */
async function processAll(
  run: JobRunner,
  inFlight: InFlight,
  jobs: readonly ReservedJob[],
): Promise<void> {
  for (const j of jobs) await run.process(j);
  while (inFlight.settling.size > 0) await Promise.all([...inFlight.settling.keys()]);
}

afterEach(() => {
  vi.restoreAllMocks();
});

/**
 * Counts the times the context entered AsyncLocalStorage: `run` on Node 20 (async hooks), one
 * `enterWith` inside an AsyncResource on context frames (Node 24), where `run` is not used.
 */
function spyOnStorageEntries(): () => number {
  const run = vi.spyOn(AsyncLocalStorage.prototype, 'run');
  const enterWith = vi.spyOn(AsyncLocalStorage.prototype, 'enterWith');
  return () => run.mock.calls.length || enterWith.mock.calls.length;
}

describe('JobRunner hot path', () => {
  it('runs a plain sync queued listener without AsyncLocalStorage, its event still in EventContext', async () => {
    const seen: (string | undefined)[] = [];
    const { transport, acked } = acking();
    const { run, inFlight } = runner(
      listener(() => void seen.push(EventContext.current()?.event?.id), false),
      transport,
    );
    const entries = spyOnStorageEntries();
    await processAll(run, inFlight, [job(1), job(2), job(3)]);
    expect(seen).toEqual(['e1', 'e2', 'e3']);
    expect(acked).toEqual(['e1:Hot.handle', 'e2:Hot.handle', 'e3:Hot.handle']);
    // AsyncLocalStorage on Node 20 taxes every promise of the process once used: a listener that
    // is done when it returns has no use for it.
    expect(entries()).toBe(0);
    expect(EventContext.current()).toBeUndefined();
  });

  it('still runs an async listener inside AsyncLocalStorage, its event seen after an await', async () => {
    const seen: (string | undefined)[] = [];
    const { transport, acked } = acking();
    const { run, inFlight } = runner(
      listener(async () => {
        await Promise.resolve();
        seen.push(EventContext.current()?.event?.id);
      }, true),
      transport,
    );
    const entries = spyOnStorageEntries();
    await processAll(run, inFlight, [job(1), job(2)]);
    expect(seen).toEqual(['e1', 'e2']);
    expect(acked).toHaveLength(2);
    expect(entries()).toBe(2);
  });

  it('a sync listener that returns a promise is awaited, its rejection a failed attempt', async () => {
    const { transport } = acking();
    const retried: number[] = [];
    (transport as { retry?: unknown }).retry = (j: ReservedJob) => {
      retried.push(j.attempt);
      return Promise.resolve();
    };
    const { run, inFlight } = runner(
      listener(() => Promise.reject(new Error('later')), false),
      transport,
    );
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    await processAll(run, inFlight, [job(1)]);
    expect(retried).toEqual([1]);
  });

  it('makes few promises per job of a sync listener (each one is paid for in every job)', async () => {
    const { transport, acked } = acking();
    const { run, inFlight } = runner(
      listener(() => undefined, false),
      transport,
    );
    const jobs = Array.from({ length: 200 }, (_, n) => job(n));
    // Warm up (lazy initialisations), then count.
    await processAll(run, inFlight, jobs.slice(0, 20));
    const [promises] = await promisesUntilSettled(() => processAll(run, inFlight, jobs.slice(20)));
    expect(acked).toHaveLength(200);
    // Counted: the attempt, the ack and its bookkeeping, and this test's own awaits. It was 15
    // per job while each of them had its own catch/finally chain, 7 while the attempt and its
    // report were two async functions.
    expect(promises / 180).toBeLessThanOrEqual(5.5);
  });

  it('gives every job a context whose signal getter is shared (no accessor made per job), live', async () => {
    const contexts: ListenerContext[] = [];
    const { transport } = acking();
    const { run, inFlight } = runner(
      listener((_event, context) => void contexts.push(context), false),
      transport,
    );
    await processAll(run, inFlight, [job(1), job(2)]);
    const getter = (context: ListenerContext) => {
      for (let o: object | null = context; o !== null; o = Object.getPrototypeOf(o)) {
        const found = Object.getOwnPropertyDescriptor(o, 'signal')?.get;
        if (found) return found;
      }
      return undefined;
    };
    // An object literal with `get signal()` made a new getter (and a new accessor pair, built in
    // the V8 runtime) for every job.
    expect(getter(contexts[0])).toBeTypeOf('function');
    expect(getter(contexts[0])).toBe(getter(contexts[1]));
    expect(contexts.map(({ attempt, queue, listener }) => ({ attempt, queue, listener }))).toEqual([
      { attempt: 1, queue: 'hot', listener: 'Hot.handle' },
      { attempt: 1, queue: 'hot', listener: 'Hot.handle' },
    ]);
    expect(contexts[0].signal).toBeInstanceOf(AbortSignal);
    expect(contexts[0].signal.aborted).toBe(false);
  });

  it('lists an attempt as running only while it runs, and aborts it by its receipt', async () => {
    const { transport } = acking();
    let release!: () => void;
    const signals: AbortSignal[] = [];
    const { run, inFlight } = runner(
      listener((_event, context) => {
        signals.push(context.signal);
        return new Promise<void>((resolve) => (release = resolve));
      }, false),
      transport,
    );
    (transport as { retry?: unknown }).retry = () => Promise.resolve();
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const first = run.process(job(1));
    const second = run.process(job(2));
    expect(inFlight.running.values().map((r) => r.job.id)).toEqual([
      'e1:Hot.handle',
      'e2:Hot.handle',
    ]);
    // Lost ownership of the first: only its attempt is aborted, and it is not settled here.
    expect(inFlight.lose(job(1), new Error('taken'))).toBe(true);
    await first;
    expect(signals[0].aborted).toBe(true);
    expect(inFlight.running.values().map((r) => r.job.id)).toEqual(['e2:Hot.handle']);
    release();
    await second;
    expect(inFlight.running.size).toBe(0);
    expect(signals[1].aborted).toBe(false);
  });
});
