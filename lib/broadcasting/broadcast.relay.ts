import { Injectable, type OnModuleDestroy, type OnModuleInit, type Type } from '@nestjs/common';
import { EventBus } from '../bus/event-bus.js';
import { ShouldQueue } from '../decorators/should-queue.decorator.js';
import type { EventEnvelope } from '../event/event-envelope.js';
import { BROADCAST_JOB_EVENT } from './broadcasting.constants.js';
import { Broadcaster } from './broadcaster.js';
import { internalEmits, OnInternalEvent } from './internal-events.js';
import {
  channelsOf,
  isShouldBroadcast,
  planBroadcast,
  type BroadcastMessage,
} from './should-broadcast.js';

/**
 * Turns emitted `ShouldBroadcast` events into broadcasts, through the bus's public API: an
 * in-process listener of every event sends immediate ones at once and emits queued ones as a
 * `nestjs-events.broadcast` event, whose queued listener (see `broadcastJobs`) sends them from a
 * worker, with its retries. `EventFacade.fake()` runs no listener, so nothing is broadcast.
 */
@Injectable()
export class BroadcastRelay implements OnModuleInit, OnModuleDestroy {
  private off: (() => void) | undefined;
  private offCheck: (() => void) | undefined;
  /** The channels of each event checked at emit, until its relay reads them. */
  private readonly checked = new WeakMap<object, readonly string[] | null>();

  constructor(
    private readonly bus: EventBus,
    private readonly broadcaster: Broadcaster,
  ) {}

  onModuleInit(): void {
    this.off ??= this.bus.on('**', (event) => this.relay(event));
    // A bad channel refuses the emit itself (`emit` and `emitAsync` reject with
    // InvalidChannelNameError), before its jobs are stored or any listener runs.
    this.offCheck ??= this.bus.addInstanceCheck((event) => {
      if (isShouldBroadcast(event)) this.checked.set(event, channelsOf(event));
    });
  }

  private relay(envelope: EventEnvelope): Promise<unknown> | undefined {
    if (envelope.name === BROADCAST_JOB_EVENT) return undefined;
    const event = envelope.data;
    let checked: readonly string[] | null | undefined;
    if (typeof event === 'object' && event !== null) {
      checked = this.checked.get(event);
      this.checked.delete(event);
    }
    const plan = planBroadcast(envelope, checked);
    if (plan === undefined) return undefined;
    if (!plan.isQueued) return this.broadcaster.send(plan.message);
    return internalEmits(this.bus).emit(BROADCAST_JOB_EVENT, plan.message);
  }

  onModuleDestroy(): void {
    this.off?.();
    this.offCheck?.();
    this.off = undefined;
    this.offCheck = undefined;
  }
}

/** The queued listener of broadcasts on `queue`: one job per broadcast event, retried like any. */
export function broadcastJobs(queue: string): Type {
  @Injectable()
  class BroadcastJobs {
    constructor(private readonly broadcaster: Broadcaster) {}

    @OnInternalEvent(BROADCAST_JOB_EVENT)
    @ShouldQueue({ queue })
    async send(event: EventEnvelope<BroadcastMessage>): Promise<void> {
      await this.broadcaster.send(event.data);
    }
  }
  return BroadcastJobs;
}
