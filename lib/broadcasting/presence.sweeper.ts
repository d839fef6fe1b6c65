import { randomUUID } from 'node:crypto';
import type { Logger } from '@nestjs/common';
import type { IoServer } from './socket-io.peer.js';

/** How often an instance looks for members of instances that died. */
const CHECK_MS = 2_000;
const PING = 'nestjs-events:presence-ping';
const JOINED = 'nestjs-events:presence-joined';

/** A presence member found in a channel: its key, its info, the instance holding its socket. */
export interface PresenceEntry {
  readonly key: string;
  readonly member: unknown;
  readonly instance: string | undefined;
}

interface Known {
  readonly member: unknown;
  readonly instances: Set<string | undefined>;
}

/**
 * Announces `presence:leaving` for the members of an instance that died (kill -9: it never
 * announced them). Each instance remembers the members of the presence channels its own sockets
 * are in (from each join here, and the notes of joins elsewhere), and every `CHECK_MS` reads the
 * channels again, then pings the other instances over the adapter: a member gone from a channel
 * whose instances all failed to answer died with them, and this instance tells its own sockets
 * (each survivor tells its own, so each client hears it once). A member whose instance answered
 * left normally and was announced by it. Reading before pinging matters: an instance that dies
 * in between still shows its members this round and is found the next.
 */
export class PresenceSweeper {
  /** This instance's id, kept on its sockets (`socket.data.instance`). */
  readonly instance = randomUUID();
  private readonly known = new Map<string, Map<string, Known>>();
  private readonly timer: NodeJS.Timeout;
  private isChecking = false;

  constructor(
    private readonly io: IoServer,
    private readonly entries: (channel: string) => Promise<PresenceEntry[]>,
    private readonly logger: Logger,
  ) {
    io.on(PING, (ack: (instance: string) => void) => ack(this.instance));
    io.on(JOINED, (note: unknown) => this.noted(note));
    this.timer = setInterval(() => void this.check(), CHECK_MS);
    this.timer.unref();
  }

  /** A socket of this instance joined `channel`, whose members are now `entries`. */
  joined(channel: string, entry: PresenceEntry, entries: readonly PresenceEntry[]): void {
    this.known.set(channel, this.snapshot(entries));
    this.io.serverSideEmit(JOINED, { channel, ...entry });
  }

  /** One check; never throws. */
  async check(): Promise<void> {
    if (this.isChecking || this.known.size === 0) return;
    this.isChecking = true;
    try {
      const found = new Map<string, PresenceEntry[]>();
      for (const channel of this.known.keys()) found.set(channel, await this.entries(channel));
      let alive: Set<unknown>;
      try {
        alive = new Set([this.instance, ...(await this.io.serverSideEmitWithAck(PING))]);
      } catch {
        return; // An instance did not answer within the adapter's `requestsTimeout`: nothing is concluded.
      }
      for (const [channel, entries] of found) this.compare(channel, entries, alive);
    } catch (error) {
      this.logger.error(`presence check failed: ${(error as Error)?.message}`);
    } finally {
      this.isChecking = false;
    }
  }

  close(): void {
    clearInterval(this.timer);
  }

  private compare(channel: string, entries: readonly PresenceEntry[], alive: Set<unknown>): void {
    const before = this.known.get(channel);
    if (before === undefined) return;
    const present = new Set(entries.map((e) => e.key));
    for (const [key, { member, instances }] of before) {
      if (present.has(key) || [...instances].some((i) => alive.has(i))) continue;
      this.io.local.to(channel).emit('presence:leaving', { channel, member });
    }
    // Only channels with sockets of this instance have someone here to tell.
    if (entries.some((e) => e.instance === this.instance)) {
      this.known.set(channel, this.snapshot(entries));
    } else this.known.delete(channel);
  }

  /** A join on another instance, in a channel this instance watches. */
  private noted(note: unknown): void {
    const { channel, key, member, instance } = (note ?? {}) as Partial<PresenceEntry> & {
      channel?: unknown;
    };
    if (typeof channel !== 'string' || typeof key !== 'string') return;
    const known = this.known.get(channel);
    if (known === undefined) return;
    const entry = known.get(key) ?? { member, instances: new Set() };
    entry.instances.add(instance);
    known.set(key, entry);
  }

  private snapshot(entries: readonly PresenceEntry[]): Map<string, Known> {
    const known = new Map<string, Known>();
    for (const { key, member, instance } of entries) {
      const entry = known.get(key) ?? { member, instances: new Set() };
      entry.instances.add(instance);
      known.set(key, entry);
    }
    return known;
  }
}
