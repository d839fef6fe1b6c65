import { Logger } from '@nestjs/common';
import type {
  AllFilter,
  AllPage,
  EventSubscription,
  StoredEvent,
  SubscriptionHandler,
} from './event-store.types.js';
import { isThenable } from '../is-thenable.js';

/** @internal What a subscription needs from its store. */
export interface SubscriptionSource {
  readPage(fromPosition: number, filter: AllFilter, limit: number): Promise<AllPage>;
  headPosition(): Promise<number>;
  /** Calls `wake` after every append the store learns about; returns the unwatch function. */
  watch(wake: () => void): () => void;
  /** A safety poll for appends made elsewhere whose notification was missed; 0 for none. */
  readonly pollIntervalMs: number;
  readonly pageSize: number;
}

/**
 * A catch-up subscription: reads the log page by page from its checkpoint, then waits for the
 * store to report an append and reads again. Events reach the handler one at a time, in
 * position order; the checkpoint moves past an event only once its handler has settled.
 */
export class StoreSubscription implements EventSubscription {
  private static readonly logger = new Logger('EventStore');
  private position: number | undefined;
  private live = false;
  private stopped = false;
  private dirty = false;
  private wakeUp: (() => void) | undefined;
  private failure: unknown;
  private markCaughtUp!: () => void;
  readonly caughtUp = new Promise<void>((resolve) => (this.markCaughtUp = resolve));
  readonly done: Promise<void>;

  constructor(
    private readonly source: SubscriptionSource,
    fromPosition: number | 'end',
    private readonly filter: AllFilter,
    private readonly handler: SubscriptionHandler,
    private readonly onError: ((error: unknown, event: StoredEvent) => void) | undefined,
  ) {
    if (fromPosition !== 'end') this.position = fromPosition;
    this.done = this.run();
  }

  get checkpoint(): number {
    return this.position ?? 1;
  }

  get isLive(): boolean {
    return this.live;
  }

  get error(): unknown {
    return this.failure;
  }

  close(): Promise<void> {
    this.stopped = true;
    this.wakeUp?.();
    return this.done;
  }

  private async run(): Promise<void> {
    // Registered before the first read, so an append made while a page is being read marks the
    // subscription dirty and is never slept through.
    const unwatch = this.source.watch(() => {
      this.dirty = true;
      this.wakeUp?.();
    });
    try {
      this.position ??= (await this.source.headPosition()) + 1;
      while (!this.stopped) {
        this.dirty = false;
        const isEnd = await this.readToEnd();
        if (this.stopped) break;
        if (isEnd && !this.live) {
          this.live = true;
          this.markCaughtUp();
        }
        if (!this.dirty) await this.sleep();
      }
    } catch (error) {
      // A read failed (the database went away): stop and say why rather than spin.
      this.failure = error;
      StoreSubscription.logger.error(
        `Subscription stopped at position ${this.checkpoint}: ${String(error)}`,
      );
    } finally {
      unwatch();
      this.stopped = true;
      this.live = false;
      this.markCaughtUp();
    }
  }

  /** Handles pages until the end of the log; returns false when stopped on the way. */
  private async readToEnd(): Promise<boolean> {
    for (;;) {
      const page = await this.source.readPage(this.checkpoint, this.filter, this.source.pageSize);
      for (const event of page.events) {
        if (this.stopped) return false;
        try {
          const result = this.handler(event);
          if (isThenable(result)) await result;
        } catch (error) {
          this.failure = error;
          this.stopped = true;
          if (this.onError) this.onError(error, event);
          else {
            StoreSubscription.logger.error(
              `Subscription handler failed on "${event.name}" (${event.id}) at position ${event.position}; ` +
                `the subscription stopped (resume from checkpoint ${event.position})`,
              error instanceof Error ? error.stack : String(error),
            );
          }
          return false;
        }
        this.position = event.position + 1;
      }
      this.position = Math.max(this.checkpoint, page.nextPosition);
      if (page.isEnd) return true;
      if (this.stopped) return false;
    }
  }

  private sleep(): Promise<void> {
    return new Promise((resolve) => {
      const timer =
        this.source.pollIntervalMs > 0
          ? setTimeout(() => this.wakeUp?.(), this.source.pollIntervalMs)
          : undefined;
      this.wakeUp = () => {
        if (timer) clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      if (this.stopped || this.dirty) this.wakeUp();
    });
  }
}
