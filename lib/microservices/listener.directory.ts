import type { ListenerDefinition } from '../discovery/listener-definition.js';
import { compilePattern } from '../discovery/pattern-trie.js';
import { deserializeEnvelope } from '../event/event.serializer.js';
import type { ResolvedEventsOptions } from '../events.options.js';
import type { NewJob } from '../queue/queue-job.js';
import { RedisConnectionFactory, type RedisClient } from '../redis/redis-connection.factory.js';
import { INBOUND_QUEUE } from './inbound.constants.js';

/** What the directory knows of one queued listener: enough to store its jobs. */
export interface DirectoryEntry {
  readonly id: string;
  readonly patterns: readonly string[];
  readonly queue: string;
  /** The listener's own delay (`@ShouldQueue({ delay })`), in ms. */
  readonly delay: number;
}

interface Snapshot {
  readonly version: string;
  readonly entries: readonly (DirectoryEntry & { readonly matches: (name: string) => boolean })[];
}

/** Most events kept for listeners that register late (the oldest go first). */
export const RECENT_EVENTS_MAX = 100_000;

/** How often (ms) a process trims the kept events (a few commands saved per event). */
const TRIM_EVERY_MS = 1000;

/** The values of a pipeline's or transaction's replies. @throws the first command error */
function replyValues(replies: [Error | null, unknown][] | null): unknown[] {
  if (!replies) throw new Error('Redis transaction aborted');
  for (const [error] of replies) if (error) throw error;
  return replies.map(([, value]) => value);
}

function parseEntry(id: string, json: string): DirectoryEntry | undefined {
  try {
    const value = JSON.parse(json) as Partial<DirectoryEntry>;
    if (!Array.isArray(value.patterns) || typeof value.queue !== 'string') return undefined;
    return { id, patterns: value.patterns, queue: value.queue, delay: Number(value.delay) || 0 };
  } catch {
    return undefined;
  }
}

/** The jobs of `payload` (a serialized envelope) for `entries`: `<eventId>:<listenerId>` each. */
export function jobsFor(
  eventId: string,
  payload: string,
  entries: readonly DirectoryEntry[],
): NewJob[] {
  return entries.map((entry) => ({
    id: `${eventId}:${entry.id}`,
    queue: entry.queue,
    listener: entry.id,
    payload,
    delayMs: entry.delay,
  }));
}

/**
 * The queued listeners of every worker app of one prefix, kept in Redis, so that any worker app
 * can fan an `EventsClient` event out to all of them (not only to its own), and a listener that
 * registers late gets the events fanned out shortly before (see `catchUp`).
 *
 * Keys (all in the inbound queue's hash slot, so each transaction runs on one cluster node):
 * `<prefix>:{<prefix>:events.inbound}:listeners` (hash: id -> JSON entry), `...:listeners:version`
 * (bumped with every registration) and `...:recent` (sorted set of the events fanned out in the
 * last `windowMs`, scored by fan-out time).
 *
 * Why a listener that registers while an event is fanned out still gets it: a fan-out reads the
 * version with the entries, stores jobs, adds the event to `recent`, then reads the version
 * again, and fans out again to the entries that appeared. A registration writes its entry and
 * bumps the version in one transaction, then reads `recent`. Either the event was in `recent`
 * when the registration read it, or the fan-out's second read saw the new version: the listener
 * gets a job either way (rarely both ways: jobs run at least once).
 */
export class ListenerDirectory {
  private readonly keys: { listeners: string; version: string; recent: string };
  private snapshot: Snapshot = { version: '', entries: [] };
  private trimmedAt = 0;

  private constructor(
    private readonly client: RedisClient,
    private readonly factory: RedisConnectionFactory,
    prefix: string,
    /** How long (ms) fanned-out events are kept for listeners that register late. */
    readonly windowMs: number,
  ) {
    const base = `${prefix}:{${prefix}:${INBOUND_QUEUE}}`;
    this.keys = {
      listeners: `${base}:listeners`,
      version: `${base}:listeners:version`,
      recent: `${base}:recent`,
    };
  }

  /** Connects (through the connection factory) to the Redis of `options`. @throws TransportError */
  static async connect(
    options: ResolvedEventsOptions,
    windowMs: number,
  ): Promise<ListenerDirectory> {
    if (options.redis === undefined) throw new TypeError('ListenerDirectory: no redis option');
    const factory = new RedisConnectionFactory(
      options.redis,
      `${options.prefix}:events`,
      options.redisCommandTimeout,
    );
    const client = await factory.create('command', 'listener-directory');
    return new ListenerDirectory(client, factory, options.prefix, windowMs);
  }

  /** Whether a listener is registered now (one read of the version; entries read when it moved). */
  async has(id: string): Promise<boolean> {
    return (await this.current()).entries.some((e) => e.id === id);
  }

  /**
   * Stores the jobs of one event for every registered listener of its name. Returns how many
   * listeners it reached; with none, nothing is stored (the caller lets the event wait).
   */
  async fanOut(
    eventId: string,
    name: string,
    payload: string,
    store: (jobs: NewJob[]) => Promise<void>,
  ): Promise<number> {
    const served = new Set<string>();
    // The cached entries may be stale: the version read after the event is recorded tells.
    let snapshot = this.snapshot.version === '' ? await this.current() : this.snapshot;
    let isFresh = snapshot !== this.snapshot;
    for (;;) {
      const targets = snapshot.entries.filter((e) => !served.has(e.id) && e.matches(name));
      if (targets.length > 0) await store(jobsFor(eventId, payload, targets));
      for (const entry of targets) served.add(entry.id);
      if (served.size === 0) {
        if (isFresh) return 0;
        snapshot = await this.current();
        isFresh = true;
        continue;
      }
      const now = Date.now();
      const pipeline = this.client.pipeline().zadd(this.keys.recent, now, payload);
      if (now - this.trimmedAt >= TRIM_EVERY_MS) {
        this.trimmedAt = now;
        pipeline
          .zremrangebyscore(this.keys.recent, '-inf', now - this.windowMs)
          .zremrangebyrank(this.keys.recent, 0, -RECENT_EVENTS_MAX - 1);
      }
      const replies = replyValues(await pipeline.get(this.keys.version).exec());
      const version = String(replies[replies.length - 1] ?? '');
      if (version === snapshot.version) return served.size;
      snapshot = await this.current();
      isFresh = true;
    }
  }

  /**
   * Registers queued listeners. Those new to the directory get the events fanned out in the last
   * `windowMs` that match them (the catch-up); returns how many jobs that stored.
   */
  async register(
    listeners: readonly ListenerDefinition[],
    store: (jobs: NewJob[]) => Promise<void>,
  ): Promise<number> {
    const entries: DirectoryEntry[] = listeners
      .filter((l) => l.queue && l.id !== undefined)
      .map((l) => ({
        id: l.id,
        patterns: [...l.patterns],
        queue: l.queue!.queue,
        delay: l.queue!.delay,
      }));
    if (entries.length === 0) return 0;
    const tx = this.client.multi();
    for (const e of entries) tx.hsetnx(this.keys.listeners, e.id, '{}');
    for (const e of entries) {
      tx.hset(
        this.keys.listeners,
        e.id,
        JSON.stringify({ patterns: e.patterns, queue: e.queue, delay: e.delay }),
      );
    }
    tx.incr(this.keys.version);
    const replies = replyValues(await tx.exec());
    const fresh = entries.filter((_, i) => Number(replies[i]) === 1);
    if (fresh.length === 0) return 0;
    const recent = await this.client.zrangebyscore(
      this.keys.recent,
      Date.now() - this.windowMs,
      '+inf',
    );
    const matchers = fresh.map((e) => ({ entry: e, matches: matcher(e.patterns) }));
    let stored = 0;
    let batch: NewJob[] = [];
    for (const payload of recent) {
      let envelope;
      try {
        envelope = deserializeEnvelope(payload, () => undefined);
      } catch {
        continue;
      }
      const targets = matchers.filter((m) => m.matches(envelope.name)).map((m) => m.entry);
      batch.push(...jobsFor(envelope.id, payload, targets));
      if (batch.length >= 500) {
        await store(batch);
        stored += batch.length;
        batch = [];
      }
    }
    if (batch.length > 0) await store(batch);
    return stored + batch.length;
  }

  /** Closes the directory's connection. Idempotent. */
  async close(): Promise<void> {
    await this.factory.closeAll();
  }

  private async current(): Promise<Snapshot> {
    const version = String((await this.client.get(this.keys.version)) ?? '');
    if (version === this.snapshot.version && version !== '') return this.snapshot;
    // Version and entries in one transaction: the entries are exactly those of that version.
    const replies = replyValues(
      await this.client.multi().get(this.keys.version).hgetall(this.keys.listeners).exec(),
    );
    const fields = (replies[1] ?? {}) as Record<string, string>;
    const entries = Object.entries(fields)
      .map(([id, json]) => parseEntry(id, json))
      .filter((e): e is DirectoryEntry => e !== undefined)
      .map((e) => ({ ...e, matches: matcher(e.patterns) }));
    this.snapshot = { version: String(replies[0] ?? ''), entries };
    return this.snapshot;
  }
}

function matcher(patterns: readonly string[]): (name: string) => boolean {
  const tests = patterns.map((p) => compilePattern(p));
  return (name) => tests.some((test) => test(name));
}
