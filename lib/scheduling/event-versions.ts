import { Injectable } from '@nestjs/common';
import type { EventEnvelope } from '../event/event-envelope.js';
import { UpcastFailedError } from '../errors/upcast-failed.error.js';
import { UpcasterChainError } from '../errors/upcaster-chain.error.js';

/** An upcaster: an older version's data in, the next version's data out. */
export type UpcastFn = (data: unknown, envelope: EventEnvelope) => unknown;

/** What `read` answers for an event newer than this app knows. */
export const NEWER_VERSION = Symbol('newer-version');

/** The `static eventVersion` of an event class (1 when it declares none). */
export function classVersion(eventClass: Function | undefined): number {
  const v = (eventClass as { eventVersion?: unknown } | undefined)?.eventVersion;
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 ? v : 1;
}

/** `envelope` at `version` with `data`: what an upcaster gets and what a read returns. */
type VersionAt = (envelope: EventEnvelope, data: unknown, version: number) => EventEnvelope;

/** Any envelope (store reads may carry more fields): a spread keeps them all. */
const spreadAt: VersionAt = (envelope, data, version) => ({ ...envelope, data, version });

/** A job's envelope (the fields of `EventEnvelope` only), built in its own shape. */
const fieldsAt: VersionAt = ({ id, name, metadata, timestamp, attempt }, data, version) =>
  attempt === undefined
    ? { id, name, data, metadata, timestamp, version }
    : { id, name, data, metadata, timestamp, version, attempt };

/**
 * The versions of events and their upcaster chains (from `@Upcaster` methods). An event's current
 * version is its class's `eventVersion`, else one past its last upcaster, else 1.
 */
@Injectable()
export class EventVersions {
  private readonly chains = new Map<string, UpcastFn[]>();
  private readonly currents = new Map<string, number>();

  /** Whether any event has a version past 1 (otherwise reads cost nothing). */
  get isEmpty(): boolean {
    return this.currents.size === 0;
  }

  /**
   * Sets the chains, checked: for each name, one upcaster per version from 1 up to its current
   * version less one. `classOf` gives a name's event class, for its `eventVersion`.
   *
   * @throws UpcasterChainError (gap, duplicate, short)
   */
  define(
    upcasters: readonly { name: string; from: number; fn: UpcastFn; owner: string }[],
    classOf: (name: string) => Function | undefined,
    versionedClasses: readonly Function[],
  ): void {
    const byName = new Map<string, Map<number, { fn: UpcastFn; owner: string }>>();
    for (const u of upcasters) {
      const chain = byName.get(u.name) ?? new Map<number, { fn: UpcastFn; owner: string }>();
      const other = chain.get(u.from);
      if (other) {
        throw new UpcasterChainError(
          u.name,
          'duplicate',
          `two upcasters from version ${u.from} (${other.owner} and ${u.owner})`,
        );
      }
      chain.set(u.from, { fn: u.fn, owner: u.owner });
      byName.set(u.name, chain);
    }
    const names = new Set([...byName.keys()]);
    const classes = new Map<string, number>();
    for (const cls of versionedClasses) {
      const name = (cls as { eventName?: string }).eventName;
      if (typeof name === 'string' && classVersion(cls) > 1) classes.set(name, classVersion(cls));
    }
    for (const name of classes.keys()) names.add(name);
    for (const name of names) {
      const chain = byName.get(name) ?? new Map<number, { fn: UpcastFn; owner: string }>();
      const last = chain.size;
      for (let v = 1; v <= last; v++) {
        if (!chain.has(v)) {
          throw new UpcasterChainError(
            name,
            'gap',
            `no upcaster from version ${v} (the chain must start at 1 without gaps; found from ${[...chain.keys()].sort((a, b) => a - b).join(', ')})`,
          );
        }
      }
      const current = classes.get(name) ?? classVersion(classOf(name));
      const version = Math.max(current, last + 1);
      if (current > 1 && last + 1 !== current) {
        throw new UpcasterChainError(
          name,
          last + 1 < current ? 'short' : 'gap',
          `the class is at version ${current} but the upcasters reach version ${last + 1}`,
        );
      }
      this.currents.set(name, version);
      this.chains.set(
        name,
        Array.from({ length: last }, (_, i) => chain.get(i + 1)!.fn),
      );
    }
  }

  /** The version an emit of `name` carries. */
  current(name: string): number {
    return this.currents.get(name) ?? 1;
  }

  /**
   * The event at its current version: upcast through the chain when older, as is when current,
   * `NEWER_VERSION` when newer than this app knows. An upcaster's error is thrown as is.
   */
  read(envelope: EventEnvelope): EventEnvelope | typeof NEWER_VERSION {
    return this.readWith(envelope, spreadAt);
  }

  /**
   * `read` for an envelope a worker read from a job (only the fields of `EventEnvelope`): each
   * version is built field by field, in the shape the job's own envelope has, rather than
   * spread (about a third of an upcast job's extra cost; `bench/upcasters.bench.js`).
   */
  readQueued(envelope: EventEnvelope): EventEnvelope | typeof NEWER_VERSION {
    return this.readWith(envelope, fieldsAt);
  }

  private readWith(envelope: EventEnvelope, at: VersionAt): EventEnvelope | typeof NEWER_VERSION {
    const current = this.currents.get(envelope.name);
    const version = envelope.version ?? 1;
    if (current === undefined) return version > 1 ? NEWER_VERSION : envelope;
    if (version === current) return envelope;
    if (version > current) return NEWER_VERSION;
    const chain = this.chains.get(envelope.name)!;
    let data = envelope.data;
    for (let v = version; v < current; v++) data = chain[v - 1](data, at(envelope, data, v));
    return at(envelope, data, current);
  }

  /**
   * A stored or relayed event at its current version (kept as it is when newer than this app
   * knows): what the event store, the outbox relay and saga inboxes hand on.
   *
   * @throws UpcastFailedError naming the event id when an upcaster throws.
   */
  upcast(envelope: EventEnvelope): EventEnvelope {
    if (this.currents.size === 0 && (envelope.version ?? 1) === 1) return envelope;
    try {
      const read = this.read(envelope);
      return read === NEWER_VERSION ? envelope : read;
    } catch (error) {
      throw new UpcastFailedError(envelope.id, envelope.name, envelope.version ?? 1, error);
    }
  }
}

/** `EventVersions.read`, as the worker calls it. */
export type EventReader = (envelope: EventEnvelope) => EventEnvelope | typeof NEWER_VERSION;

/** `read`, with an upcaster's error as the dead-letter failure `upcast_failed`. */
export function readVersion(
  read: EventReader,
  envelope: EventEnvelope,
): EventEnvelope | typeof NEWER_VERSION | { reason: string; message: string; stack?: string } {
  try {
    return read(envelope);
  } catch (error) {
    const from = envelope.version ?? 1;
    return {
      reason: 'upcast_failed',
      message: `Upcasting "${envelope.name}" from version ${from} failed: ${error instanceof Error ? error.message : String(error)}`,
      ...(error instanceof Error && error.stack !== undefined && { stack: error.stack }),
    };
  }
}
