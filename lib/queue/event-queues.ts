import { Inject, Injectable } from '@nestjs/common';
import { QUEUE_TRANSPORT } from '../events.constants.js';
import { assertInteger, assertName } from '../option-assertions.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import type { DeadJob, QueueCounts } from './queue-job.js';
import type { QueueTransport } from './queue-transport.interface.js';
import { ListenerRegistry } from '../discovery/listener.registry.js';

/** Inspect and repair queues: counts by state, dead letters to list, retry and purge. */
@Injectable()
export class EventQueues {
  constructor(
    @Inject(QUEUE_TRANSPORT) private readonly transport: QueueTransport,
    private readonly registry: ListenerRegistry,
  ) {}

  /** Counts of one queue. */
  counts(queue: string): Promise<QueueCounts>;
  /** Counts of every queue (those with listeners here, and those that hold jobs). */
  counts(): Promise<Record<string, QueueCounts>>;
  async counts(queue?: string): Promise<QueueCounts | Record<string, QueueCounts>> {
    if (queue !== undefined) {
      assertName('queue', queue);
      return this.transport.counts(queue);
    }
    const names = new Set(await this.transport.queues());
    for (const listener of this.registry.all()) if (listener.queue) names.add(listener.queue.queue);
    const result: Record<string, QueueCounts> = {};
    for (const name of [...names].sort()) result[name] = await this.transport.counts(name);
    return result;
  }

  /** Dead jobs of a queue, oldest first. @default offset 0, limit 50 */
  listDead(queue: string, page: { offset?: number; limit?: number } = {}): Promise<DeadJob[]> {
    assertName('queue', queue);
    const offset = page.offset ?? 0;
    const limit = page.limit ?? 50;
    assertInteger('offset', offset, 0);
    assertInteger('limit', limit, 1, 10_000);
    return this.transport.listDead(queue, offset, limit);
  }

  /** Gives one dead job (by id) or all of them a new round of attempts; returns how many moved. */
  retryDead(queue: string, id: string | 'all'): Promise<number> {
    assertName('queue', queue);
    if (typeof id !== 'string' || id.length === 0) {
      throw new InvalidOptionError('id', id, "a dead job's id or 'all'");
    }
    return this.transport.retryDead(queue, id);
  }

  /** Deletes every dead job of a queue; returns how many. */
  purgeDead(queue: string): Promise<number> {
    assertName('queue', queue);
    return this.transport.purgeDead(queue);
  }
}
