import { EventsError } from './events.error.js';

/** One item of a batch that failed: its event's `id`, and why. */
export interface FailedBatchItem {
  readonly id: string;
  readonly error: unknown;
}

/**
 * Thrown by a batched handler (`@ShouldQueue({ batch })`) that handled some items and not others:
 * the items it names are retried (or dead-lettered after their last attempt) each on its own, and
 * every other item of the batch is done. Any other error fails the whole batch.
 *
 * @example
 * throw new BatchItemsFailedError([{ id: events[2].id, error: new Error('rejected') }]);
 */
export class BatchItemsFailedError extends EventsError {
  readonly failures: readonly FailedBatchItem[];

  constructor(failures: readonly FailedBatchItem[]) {
    super(
      'EVENTS_BATCH_ITEMS_FAILED',
      `${failures.length} item(s) of the batch failed: ${failures
        .slice(0, 5)
        .map((f) => `${f.id} (${f.error instanceof Error ? f.error.message : String(f.error)})`)
        .join(', ')}${failures.length > 5 ? ', ...' : ''}`,
    );
    this.failures = [...failures];
  }
}
