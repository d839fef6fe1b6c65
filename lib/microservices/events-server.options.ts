import type { EventsServerDifference } from '../errors/events-server-mismatch.error.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import {
  resolveEventsOptions,
  type QueueDefaults,
  type ResolvedEventsOptions,
} from '../events.options.js';
import { assertInteger, assertName } from '../option-assertions.js';
import { LATE_LISTENER_WINDOW_MS } from './inbound.constants.js';

/**
 * Options of `new EventsServer(...)`. In an app that does not import `EventsModule`, they are the
 * whole configuration (as with every Nest transport); in an app that does, the ones given must
 * agree with the module's (the server then uses the module's connection).
 */
export interface EventsServerOptions {
  /**
   * Redis: a `redis://` URL, ioredis options or client, or `{ cluster: [...] }`.
   * Env: `EVENTS_REDIS_URL`.
   * @default the module's; required (or the env variable) without the module
   */
  redis?: string | Record<string, unknown>;
  /** Prefix of every Redis key. Env: `EVENTS_PREFIX`. @default the module's, or 'events' */
  prefix?: string;
  /**
   * The queues this process works on (queued listeners and `@EventPattern` handlers); every
   * server also fans out the events `EventsClient` stored.
   * @default every queue of the app's queued listeners and `@EventPattern` handlers
   */
  queues?: string[];
  /**
   * Jobs run at once per queue: one number for every queue, or per queue name.
   * @default the module's `worker.concurrency`, or 1
   */
  concurrency?: number | Record<string, number>;
  /** How long (ms) shutdown waits for running jobs. @default the module's, or 10000 */
  shutdownTimeout?: number;
  /** How long (ms) a job may go without a heartbeat before it is reclaimed. @default 30000 */
  visibilityTimeout?: number;
  /** Defaults of `@EventPattern` handlers (queue, tries, backoff, timeout). @default the module's */
  defaults?: QueueDefaults;
  /** The largest serialized event accepted, in bytes. @default 1048576 */
  maxPayloadBytes?: number;
  /** The longest a Redis command may take (ms). @default 5000 */
  redisCommandTimeout?: number;
  /**
   * How long (ms) an `EventsClient` event that no registered listener matches waits before it is
   * dead-lettered, and how far back a listener registered for the first time gets events.
   * @default 300000
   */
  lateListenerWindow?: number;
  /**
   * The name of this worker app, when several apps handle the same `@EventPattern`: each handler's
   * listener id becomes `EventPattern(<pattern>)@<name>`, so that every app gets its own job. Keep
   * it stable across deploys (a new name is a new listener).
   * @default none (ids `EventPattern(<pattern>)`: one handler per pattern across the prefix)
   */
  name?: string;
}

const ALLOWED = [
  'redis',
  'prefix',
  'queues',
  'concurrency',
  'shutdownTimeout',
  'visibilityTimeout',
  'defaults',
  'maxPayloadBytes',
  'redisCommandTimeout',
  'lateListenerWindow',
  'name',
];

/** The server's options, checked: `resolved` is the standalone configuration. */
export interface CheckedServerOptions {
  readonly given: Readonly<EventsServerOptions>;
  readonly resolved: ResolvedEventsOptions;
  readonly lateListenerWindow: number;
}

/** Checks `new EventsServer(options)`. @throws InvalidOptionError */
export function checkServerOptions(options: EventsServerOptions): CheckedServerOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new InvalidOptionError('EventsServer options', options, 'an options object');
  }
  for (const key of Object.keys(options)) {
    if (!ALLOWED.includes(key)) {
      throw new InvalidOptionError(
        `EventsServer.${key}`,
        (options as Record<string, unknown>)[key],
        `no such option (allowed: ${ALLOWED.join(', ')})`,
      );
    }
  }
  if (options.queues !== undefined) {
    if (!Array.isArray(options.queues) || options.queues.length === 0) {
      throw new InvalidOptionError(
        'EventsServer.queues',
        options.queues,
        'a non-empty array of queue names',
      );
    }
    options.queues.forEach((q) => assertName('EventsServer.queues', q));
  }
  const c = options.concurrency;
  if (typeof c === 'number') assertInteger('EventsServer.concurrency', c, 1, 10_000);
  else if (c !== undefined && c !== null && typeof c === 'object' && !Array.isArray(c)) {
    for (const [queue, n] of Object.entries(c)) {
      assertName('EventsServer.concurrency (queue name)', queue);
      assertInteger(`EventsServer.concurrency.${queue}`, n, 1, 10_000);
    }
  } else if (c !== undefined) {
    throw new InvalidOptionError(
      'EventsServer.concurrency',
      c,
      'an integer >= 1, or { [queue]: integer }',
    );
  }
  const lateListenerWindow = options.lateListenerWindow ?? LATE_LISTENER_WINDOW_MS;
  assertInteger('EventsServer.lateListenerWindow', lateListenerWindow, 100);
  if (options.name !== undefined) assertName('EventsServer.name', options.name);
  const {
    queues,
    concurrency,
    shutdownTimeout,
    lateListenerWindow: _window,
    name: _name,
    ...module
  } = options;
  const worker = { queues, concurrency, shutdownTimeout };
  for (const key of Object.keys(worker) as (keyof typeof worker)[]) {
    if (worker[key] === undefined) delete worker[key];
  }
  const resolved = resolveEventsOptions({ ...module, worker });
  const given = { ...options, queues: queues && [...queues] };
  return { given, resolved, lateListenerWindow };
}

/** The loopback names as one, so that `localhost` and `127.0.0.1` agree. */
function host(name: string): string {
  return ['localhost', '127.0.0.1', '[::1]', '::1'].includes(name) ? 'localhost' : name;
}

/** `host:port/db` of a Redis source, or of its cluster nodes; undefined when not knowable. */
export function redisIdentity(source: unknown): string | undefined {
  if (typeof source === 'string') {
    try {
      const url = new URL(source);
      if (url.protocol === 'unix:') return url.pathname;
      return `${host(url.hostname)}:${url.port || 6379}/${url.pathname.slice(1) || 0}`;
    } catch {
      return undefined;
    }
  }
  if (source === null || typeof source !== 'object') return undefined;
  const client = source as { duplicate?: unknown; options?: unknown; startupNodes?: unknown };
  if (typeof client.duplicate === 'function') {
    // An ioredis client: its startup nodes (Cluster) or its connection options (Redis).
    if (Array.isArray(client.startupNodes)) return redisIdentity({ cluster: client.startupNodes });
    return client.options ? redisIdentity(client.options) : undefined;
  }
  const options = source as { cluster?: unknown; host?: unknown; port?: unknown; db?: unknown };
  if (Array.isArray(options.cluster)) {
    return `cluster ${options.cluster
      .map((n) => JSON.stringify(n))
      .sort()
      .join(',')}`;
  }
  return `${host(String(options.host ?? 'localhost'))}:${String(options.port ?? 6379)}/${String(options.db ?? 0)}`;
}

function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/** The options given to the server that the module sets otherwise. */
export function serverDifferences(
  checked: CheckedServerOptions,
  module: ResolvedEventsOptions,
): EventsServerDifference[] {
  const { given, resolved } = checked;
  const found: EventsServerDifference[] = [];
  const differ = (option: string, server: unknown, theirs: unknown): void => {
    if (show(server) !== show(theirs)) {
      found.push({ option: `EventsServer.${option}`, server: show(server), module: show(theirs) });
    }
  };
  if (given.redis !== undefined) {
    const mine = redisIdentity(given.redis);
    const theirs =
      module.redis === undefined
        ? 'no redis (the embedded transport)'
        : redisIdentity(module.redis);
    if (mine !== undefined && theirs !== undefined) differ('redis', mine, theirs);
  }
  if (given.prefix !== undefined) differ('prefix', resolved.prefix, module.prefix);
  if (given.visibilityTimeout !== undefined) {
    differ('visibilityTimeout', resolved.visibilityTimeout, module.visibilityTimeout);
  }
  if (given.maxPayloadBytes !== undefined) {
    differ('maxPayloadBytes', resolved.maxPayloadBytes, module.maxPayloadBytes);
  }
  if (given.redisCommandTimeout !== undefined) {
    differ('redisCommandTimeout', resolved.redisCommandTimeout, module.redisCommandTimeout);
  }
  if (given.shutdownTimeout !== undefined) {
    differ('shutdownTimeout', resolved.worker.shutdownTimeout, module.worker.shutdownTimeout);
  }
  for (const key of Object.keys(given.defaults ?? {}) as (keyof QueueDefaults)[]) {
    differ(`defaults.${key}`, resolved.defaults[key], module.defaults[key]);
  }
  return found;
}
