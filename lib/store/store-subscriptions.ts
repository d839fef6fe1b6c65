import { InvalidOptionError } from '../errors/invalid-option.error.js';
import type {
  AllFilter,
  AllPage,
  EventSubscription,
  SubscribeOptions,
  SubscriptionHandler,
} from './event-store.types.js';
import {
  assertOptionalInteger,
  assertOptionsObject,
  toAllFilter,
} from './event-store.validation.js';
import { StoreSubscription } from './event-subscription.js';
import type { PageSource } from './store-pages.js';

const SUBSCRIBE_OPTIONS = ['fromPosition', 'pattern', 'onError'];

/** What the subscriptions of a store need of it: its page reader's rows and decoder, and more. */
export interface SubscribedStore extends Pick<PageSource, 'pageSize' | 'readAllRows' | 'decode'> {
  /** Read when a subscription starts: a backend sets it after the base store is made. */
  pollIntervalMs(): number;
  headPosition(): Promise<number>;
  /** Called when the first subscription starts watching and when the last one stops. */
  watching(isWatched: boolean): void;
}

/**
 * The subscriptions of one store (`EventStore.subscribe`): starts them, wakes them after each
 * append the store learns of, and stops them when the store closes.
 */
export class StoreSubscriptions {
  private readonly watchers = new Set<() => void>();
  private readonly subscriptions = new Set<StoreSubscription>();

  constructor(private readonly store: SubscribedStore) {}

  /** A new subscription, once its options and handler are checked. */
  start(options: SubscribeOptions, handler: SubscriptionHandler): EventSubscription {
    assertOptionsObject('subscribe options', options, SUBSCRIBE_OPTIONS);
    const from = options?.fromPosition ?? 1;
    if (from !== 'end') assertOptionalInteger('fromPosition', from, 1);
    if (typeof handler !== 'function') {
      throw new InvalidOptionError('handler', handler, 'a function (event) => unknown');
    }
    if (options.onError !== undefined && typeof options.onError !== 'function') {
      throw new InvalidOptionError('onError', options.onError, 'a function (error, event) => void');
    }
    const filter = toAllFilter({ pattern: options.pattern });
    const subscription = new StoreSubscription(
      {
        readPage: (position, f, limit) => this.readPage(position, f, limit),
        headPosition: () => this.store.headPosition(),
        watch: (wake) => this.watch(wake),
        pollIntervalMs: this.store.pollIntervalMs(),
        pageSize: this.store.pageSize,
      },
      from,
      filter,
      handler,
      options.onError,
    );
    this.subscriptions.add(subscription);
    void subscription.done.then(() => this.subscriptions.delete(subscription));
    return subscription;
  }

  /** Wakes the subscriptions: called after every append the store learns of. */
  notify(): void {
    for (const wake of this.watchers) wake();
  }

  /** Stops every subscription. */
  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((s) => s.close()));
  }

  private watch(wake: () => void): () => void {
    this.watchers.add(wake);
    if (this.watchers.size === 1) this.store.watching(true);
    return () => {
      if (this.watchers.delete(wake) && this.watchers.size === 0) this.store.watching(false);
    };
  }

  private async readPage(fromPosition: number, filter: AllFilter, limit: number) {
    const page = await this.store.readAllRows(fromPosition, filter, limit);
    return {
      events: page.rows.map((row) => this.store.decode(row)),
      nextPosition: page.nextPosition,
      isEnd: page.isEnd,
    } satisfies AllPage;
  }
}
