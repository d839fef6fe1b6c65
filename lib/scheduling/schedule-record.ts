import { randomBytes } from 'node:crypto';
import type { EventEnvelope } from '../event/event-envelope.js';
import { deserializeEnvelope, serializeEnvelope } from '../event/event.serializer.js';
import type { CheckedSchedule } from './schedule-rule.js';
import type { MisfirePolicy, ScheduleRule } from './schedule.types.js';

/** A stored schedule: its definition, and a revision that changes whenever it is replaced. */
export interface ScheduleRecord {
  readonly def: ScheduleDefinition;
  /** Part of each occurrence's event id, so a replaced schedule's occurrences are new events. */
  readonly rev: string;
}

/** What a schedule is: two schedulings with equal definitions are one schedule, unchanged. */
export interface ScheduleDefinition {
  readonly v: 1;
  /** The event (name, data, the caller's metadata) in the queue's wire form. */
  readonly event: string;
  /** The data was a class event instance (emitted as one when its class is known). */
  readonly isClass: boolean;
  readonly rule: ScheduleRule;
  readonly misfire: MisfirePolicy;
  readonly grace: number;
}

/**
 * The definition of a schedule of `envelope` (checked by the emit path), with only the
 * caller's own metadata: every occurrence starts its own correlation.
 *
 * @throws UnserializablePayloadError, PayloadTooLargeError
 */
export function defineSchedule(
  id: string,
  envelope: EventEnvelope,
  metadata: Record<string, string> | undefined,
  isClass: boolean,
  checked: CheckedSchedule,
  maxBytes: number,
): ScheduleDefinition {
  const template = {
    id,
    name: envelope.name,
    data: envelope.data,
    metadata: { ...metadata },
    timestamp: 0,
  };
  return {
    v: 1,
    event: serializeEnvelope(template, maxBytes),
    isClass,
    rule: checked.rule,
    misfire: checked.misfire,
    grace: checked.misfireGraceMs,
  };
}

export function writeRecord(def: ScheduleDefinition): string {
  return JSON.stringify({ def, rev: randomBytes(4).toString('hex') });
}

/** Throws on a record this version cannot read. */
export function readRecord(json: string): ScheduleRecord {
  const record = JSON.parse(json) as Partial<ScheduleRecord> | null;
  if (record?.def?.v !== 1 || typeof record.rev !== 'string') {
    throw new Error(`a schedule record this version cannot read: ${json.slice(0, 80)}`);
  }
  return record as ScheduleRecord;
}

/** Whether a stored record holds this definition. */
export function isSameDefinition(json: string | undefined, def: ScheduleDefinition): boolean {
  if (json === undefined) return false;
  try {
    return JSON.stringify(readRecord(json).def) === JSON.stringify(def);
  } catch {
    return false;
  }
}

/** The event of a schedule, rebuilt (class instances too, when the class is known here). */
export function readEvent(
  def: ScheduleDefinition,
  eventClass: (name: string) => Function | undefined,
): EventEnvelope {
  return deserializeEnvelope(def.event, eventClass);
}
