import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { assertInteger, assertName } from '../option-assertions.js';

/** Thresholds of one monitored queue (each optional): past one, `QueueBusy` is emitted. */
export interface QueueThresholds {
  /** Busy when more jobs than this wait to start. */
  maxWaiting?: number;
  /** Busy when the oldest waiting job has waited longer than this (ms). */
  maxLagMs?: number;
  /** Busy when the queue holds more dead jobs than this. */
  maxDead?: number;
}

/** `forRoot({ monitor })`: backlog alerts, like Laravel's `queue:monitor`. */
export interface MonitorOptions {
  /**
   * How often (ms) the queues are read (by one process at a time: a lease in Redis, or in memory).
   * @default 60000
   */
  intervalMs?: number;
  /** The queues to watch, by name, with their thresholds. */
  queues: Record<string, QueueThresholds>;
}

/** The monitor options after defaults. */
export interface ResolvedMonitorOptions {
  readonly intervalMs: number;
  readonly queues: ReadonlyMap<string, Readonly<QueueThresholds>>;
}

const THRESHOLDS = ['maxWaiting', 'maxLagMs', 'maxDead'] as const;

/** `forRoot({ monitor })` after defaults, or undefined when not set. */
export function resolveMonitorOptions(value: unknown): ResolvedMonitorOptions | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidOptionError('monitor', value, '{ intervalMs?, queues: { name: thresholds } }');
  }
  const { intervalMs = 60_000, queues, ...rest } = value as Record<string, unknown>;
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined) {
    throw new InvalidOptionError(
      `monitor.${unknown}`,
      rest[unknown],
      'no such option (allowed: intervalMs, queues)',
    );
  }
  assertInteger('monitor.intervalMs', intervalMs, 10, 86_400_000);
  if (queues === null || typeof queues !== 'object' || Array.isArray(queues)) {
    throw new InvalidOptionError('monitor.queues', queues, 'an object of thresholds by queue name');
  }
  const resolved = new Map<string, Readonly<QueueThresholds>>();
  for (const [queue, thresholds] of Object.entries(queues)) {
    assertName('monitor.queues', queue);
    const where = `monitor.queues.${queue}`;
    if (thresholds === null || typeof thresholds !== 'object') {
      throw new InvalidOptionError(where, thresholds, '{ maxWaiting?, maxLagMs?, maxDead? }');
    }
    const entries = Object.entries(thresholds as Record<string, unknown>);
    if (entries.length === 0) {
      throw new InvalidOptionError(
        where,
        thresholds,
        'at least one of maxWaiting, maxLagMs, maxDead',
      );
    }
    for (const [key, threshold] of entries) {
      if (!(THRESHOLDS as readonly string[]).includes(key)) {
        throw new InvalidOptionError(
          `${where}.${key}`,
          threshold,
          `one of ${THRESHOLDS.join(', ')}`,
        );
      }
      assertInteger(`${where}.${key}`, threshold, 0);
    }
    resolved.set(queue, { ...(thresholds as QueueThresholds) });
  }
  return { intervalMs: intervalMs as number, queues: resolved };
}
