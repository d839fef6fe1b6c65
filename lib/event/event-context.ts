import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import type { EventEnvelope } from './event-envelope.js';

/** The context in which code runs: the event being handled, and the metadata it carries. */
export interface EventContextState {
  /** The event whose listener is running, if any. */
  readonly event?: EventEnvelope;
  /** Metadata every event emitted in this context inherits. */
  readonly metadata: Readonly<Record<string, string>>;
}

/**
 * What the context holds: a state, or the envelope of the event being handled, which stands for
 * `{ event, metadata: event.metadata }` without a second object per handled event (the hot path
 * of every dispatch). `stateOf` turns it into the state callers see.
 */
export type Frame = EventContextState | EventEnvelope;

const storage = new AsyncLocalStorage<Frame>();
// The context of sync listeners while they run. AsyncLocalStorage.run would also do, but on
// Node 20 its first use installs promise hooks that tax every promise of the process; a sync
// call needs no more than a variable set around it. Async listeners run inside the storage.
let syncFrame: Frame | undefined;

/** Whether `frame` is an envelope: a state has no id. */
function isEnvelope(frame: Frame): frame is EventEnvelope {
  return (frame as Partial<EventEnvelope>).id !== undefined;
}

function stateOf(frame: Frame | undefined): EventContextState | undefined {
  if (frame === undefined || !isEnvelope(frame)) return frame;
  return { event: frame, metadata: frame.metadata };
}

/**
 * @internal The event being handled in the current context, and the metadata emits inherit,
 * without building a state (an emit's hot path): `undefined` outside any event or `run`.
 */
export function currentFrame(): Frame | undefined {
  return syncFrame ?? storage.getStore();
}

/** @internal The event of a frame from `currentFrame`. */
export function eventOfFrame(frame: Frame): EventEnvelope | undefined {
  return isEnvelope(frame) ? frame : frame.event;
}

/** @internal The event being handled in the current context, without building a state. */
export function currentEvent(): EventEnvelope | undefined {
  const frame = currentFrame();
  return frame === undefined ? undefined : eventOfFrame(frame);
}

/**
 * The async context that carries correlation, causation and your own keys (a tenant, a user)
 * from an emitter to every listener, also across `await` and into queued jobs.
 */
export const EventContext = {
  /** The current state, or `undefined` outside any event or `run`. */
  current(): EventContextState | undefined {
    return stateOf(currentFrame());
  },

  /** One metadata value of the current context. */
  get(key: string): string | undefined {
    return currentFrame()?.metadata[key];
  },

  /**
   * Runs `fn` with extra metadata: every event emitted inside it (and by its listeners) carries it.
   *
   * @example
   * EventContext.run({ tenantId: 't1' }, () => bus.emit('order.created', order));
   */
  run<R>(metadata: Record<string, string>, fn: () => R): R {
    const parent = currentFrame();
    return inStorage(
      {
        event: parent === undefined ? undefined : eventOfFrame(parent),
        metadata: { ...parent?.metadata, ...metadata },
      },
      fn,
      [],
    );
  },

  /**
   * @internal Runs `fn(...args)` as the handling of `event`: emits inside it are caused by it.
   * The arguments are passed through so a caller on the hot path allocates no closure.
   */
  runAs<A extends unknown[], R>(event: EventEnvelope, fn: (...args: A) => R, ...args: A): R {
    return inStorage(event, fn, args);
  },

  /**
   * @internal Runs `fn` outside any event's handling (a batched listener's call, which has many
   * events and no single cause): emits inside it inherit nothing.
   */
  runOutside<R>(fn: () => R): R {
    const previous = syncFrame;
    syncFrame = undefined;
    try {
      return storage.exit(fn);
    } finally {
      syncFrame = previous;
    }
  },

  /**
   * @internal Runs the sync `fn` as the handling of `event`, without AsyncLocalStorage: only
   * code that runs before `fn` returns sees the context.
   */
  runSync<A extends unknown[], R>(event: EventEnvelope, fn: (...args: A) => R, ...args: A): R {
    const previous = syncFrame;
    syncFrame = event;
    try {
      return fn(...args);
    } finally {
      syncFrame = previous;
    }
  },
};

/**
 * @internal Makes `frame` the sync frame (an event: its handling) and returns the previous one,
 * which the caller restores in a `finally`: `runSync` without a callback, for the dispatcher.
 */
export function swapSyncFrame(frame: Frame | undefined): Frame | undefined {
  const previous = syncFrame;
  syncFrame = frame;
  return previous;
}

/**
 * Whether the storage runs on context frames (Node 24's default, `AsyncContextFrame`: no promise
 * hooks) rather than on async hooks (Node 20, or `--no-async-context-frame`), whose storage has
 * `_propagate`. There `storage.run` copies the frame (a Map) twice, once to enter and once to
 * restore the caller's store, ~300 ns per emit to an async listener; `enter` copies it once.
 */
const isFrameStorage =
  typeof (AsyncLocalStorage.prototype as { _propagate?: unknown })._propagate !== 'function';

/** Runs `fn` in the async storage; the sync frame is cleared inside so the storage is seen. */
function inStorage<A extends unknown[], R>(state: Frame, fn: (...args: A) => R, args: A): R {
  if (syncFrame === undefined) return enter(state, fn, args);
  const previous = syncFrame;
  syncFrame = undefined;
  try {
    return enter(state, fn, args);
  } finally {
    syncFrame = previous;
  }
}

/**
 * `storage.run(state, fn, ...args)`. On context frames: an AsyncResource captures the caller's
 * frame and puts that very frame back when `fn` returns or throws, so only entering copies it
 * (the AsyncResource costs less than the second copy). On async hooks `run` is cheap already
 * (an AsyncResource is not: it gets an id and an init hook call).
 */
function enter<A extends unknown[], R>(state: Frame, fn: (...args: A) => R, args: A): R {
  if (!isFrameStorage) return storage.run(state, fn, ...args);
  return new AsyncResource('nestjs-events.context').runInAsyncScope<null, R>(
    enterWith,
    null,
    state,
    fn,
    args,
  );
}

function enterWith<A extends unknown[], R>(state: Frame, fn: (...args: A) => R, args: A): R {
  storage.enterWith(state);
  return fn(...args);
}
