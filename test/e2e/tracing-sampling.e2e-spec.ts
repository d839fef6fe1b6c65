import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { SamplingDecision, trace, type Attributes } from '@opentelemetry/api';
import type { Sampler, SamplingResult } from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  EventBus,
  OnEvent,
  ShouldQueue,
  type EventEnvelope,
  type EventsModuleOptions,
  type ListenerContext,
} from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { installTracing, type TestTracing } from '../support/tracing.js';
import { waitFor } from '../support/wait-for.js';

/** What a listener attempt saw of the active span. */
interface SeenAttempt {
  attempt: number;
  traceId?: string;
  spanId?: string;
  isRecording?: boolean;
  traceparent?: string;
}

function seen(event: EventEnvelope, context: ListenerContext): SeenAttempt {
  const span = trace.getActiveSpan();
  return {
    attempt: context.attempt,
    traceId: span?.spanContext().traceId,
    spanId: span?.spanContext().spanId,
    isRecording: span?.isRecording(),
    traceparent: event.metadata.traceparent,
  };
}

@Injectable()
class SamplingListeners {
  readonly kept: SeenAttempt[] = [];
  readonly dropped: SeenAttempt[] = [];
  readonly followUps: SeenAttempt[] = [];

  constructor(private readonly bus: EventBus) {}

  @OnEvent('sampling.order')
  @ShouldQueue({ queue: 'kept' })
  keep(event: EventEnvelope, context: ListenerContext): void {
    this.kept.push(seen(event, context));
  }

  /** Fails its first attempt, then emits a follow-up. */
  @OnEvent('sampling.order')
  @ShouldQueue({ queue: 'dropped', tries: 2, backoff: 0 })
  async drop(event: EventEnvelope, context: ListenerContext): Promise<void> {
    this.dropped.push(seen(event, context));
    if (context.attempt === 1) throw new Error('first attempt fails');
    await this.bus.emit('sampling.follow-up', {});
  }

  @OnEvent('sampling.follow-up')
  @ShouldQueue({ queue: 'dropped' })
  followUp(event: EventEnvelope, context: ListenerContext): void {
    this.followUps.push(seen(event, context));
  }
}

/** Keeps the spans `keep` says yes to, and remembers what it was asked. */
class DecidingSampler implements Sampler {
  readonly asked: { name: string; attributes: Attributes }[] = [];
  keep: (attributes: Attributes) => boolean = () => true;

  shouldSample(
    _context: unknown,
    _traceId: string,
    name: string,
    _kind: unknown,
    attributes: Attributes,
  ): SamplingResult {
    this.asked.push({ name, attributes: { ...attributes } });
    return {
      decision: this.keep(attributes)
        ? SamplingDecision.RECORD_AND_SAMPLED
        : SamplingDecision.NOT_RECORD,
    };
  }

  toString(): string {
    return 'DecidingSampler';
  }
}

const sampler = new DecidingSampler();
let tracing: TestTracing;
let app: INestApplicationContext | undefined;

beforeAll(() => {
  tracing = installTracing(sampler);
});
afterAll(async () => {
  await tracing?.uninstall();
});
beforeEach(() => {
  tracing.exporter.reset();
  sampler.asked.length = 0;
});
afterEach(async () => {
  await app?.close();
  app = undefined;
});

const flagsOf = (traceparent: string | undefined) => traceparent?.split('-')[3];
const traceIdOf = (traceparent: string | undefined) => traceparent?.split('-')[1];

async function start(options: EventsModuleOptions = {}): Promise<SamplingListeners> {
  app = await createTestApp({ providers: [SamplingListeners] }, options);
  return app.get(SamplingListeners);
}

describe('Tracing with a sampler', () => {
  it('decides on the queue and listener at span creation; a kept span gets every attribute', async () => {
    sampler.keep = (a) =>
      a['messaging.operation.type'] === 'send' ||
      (a['messaging.destination.name'] === 'kept' &&
        a['nestjs_events.listener'] === 'SamplingListeners.keep');
    const listeners = await start({ tracing: { detailedAttributes: true } });
    const envelope = await app!.get(EventBus).emit('sampling.order', {});
    await waitFor(() => listeners.kept.length === 1 && listeners.followUps.length === 1);

    const processAsked = sampler.asked.filter((q) => q.name === 'process sampling.order');
    expect(processAsked).toHaveLength(3); // kept once, dropped twice
    for (const { attributes } of processAsked) {
      expect(attributes).toMatchObject({
        'messaging.system': 'memory',
        'messaging.operation.type': 'process',
      });
      expect(['kept', 'dropped']).toContain(attributes['messaging.destination.name']);
      expect(attributes['nestjs_events.listener']).toMatch(/^SamplingListeners\./);
      // Per-job attributes are built after the decision, for recorded spans only.
      expect(attributes).not.toHaveProperty('messaging.message.id');
      expect(attributes).not.toHaveProperty('nestjs_events.attempt');
    }
    const [kept, ...others] = tracing.spans('process sampling.order');
    expect(others).toEqual([]);
    expect(kept.attributes).toMatchObject({
      'messaging.destination.name': 'kept',
      'nestjs_events.listener': 'SamplingListeners.keep',
      'messaging.message.id': envelope.id,
      'nestjs_events.event': 'sampling.order',
      'nestjs_events.attempt': 1,
    });
    expect(kept.attributes['nestjs_events.job.id']).toEqual(expect.any(String));
    expect(listeners.kept[0]).toMatchObject({
      isRecording: true,
      spanId: kept.spanContext().spanId,
    });

    // The dropped listener still ran inside its own (non-recording) span, once per attempt;
    // its failure was still seen, and its follow-up inherits the trace.
    expect(listeners.dropped.map((a) => a.attempt)).toEqual([1, 2]);
    for (const attempt of listeners.dropped) {
      expect(attempt.isRecording).toBe(false);
      expect(attempt.traceId).toBe(traceIdOf(envelope.metadata.traceparent));
      expect(attempt.spanId).not.toBe(kept.spanContext().spanId);
    }
    expect(traceIdOf(listeners.followUps[0].traceparent)).toBe(
      traceIdOf(envelope.metadata.traceparent),
    );
  });

  it('a sampler that drops every span: no span, and the decision travels with every event', async () => {
    sampler.keep = () => false;
    const listeners = await start();
    const bus = app!.get(EventBus);
    const envelope = await bus.emit('sampling.order', {});
    const many = await bus.emitMany([
      { name: 'sampling.follow-up', data: {} },
      { name: 'sampling.follow-up', data: {} },
    ]);
    await waitFor(() => listeners.kept.length === 1 && listeners.followUps.length === 3);

    expect(tracing.exporter.getFinishedSpans()).toEqual([]);
    expect(sampler.asked.length).toBeGreaterThanOrEqual(7);
    // Not sampled (flags 00), yet a trace context: what follows makes the same decision.
    const traceId = traceIdOf(envelope.metadata.traceparent);
    expect(traceId).toMatch(/^[\da-f]{32}$/);
    expect(flagsOf(envelope.metadata.traceparent)).toBe('00');
    expect(listeners.dropped.map((a) => a.attempt)).toEqual([1, 2]);
    for (const attempt of [...listeners.kept, ...listeners.dropped]) {
      expect(attempt).toMatchObject({ isRecording: false, traceId });
    }
    const followUp = listeners.followUps.find((a) => traceIdOf(a.traceparent) === traceId);
    expect(flagsOf(followUp?.traceparent)).toBe('00');
    for (const sent of many) {
      expect(flagsOf(sent.metadata.traceparent)).toBe('00');
      expect(listeners.followUps.map((a) => a.traceparent)).toContain(sent.metadata.traceparent);
    }
  });
});
