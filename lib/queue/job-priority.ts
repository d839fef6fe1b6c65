import { assertInteger } from '../option-assertions.js';

/** The lowest job priority. */
export const MIN_PRIORITY = -10;
/** The highest job priority. */
export const MAX_PRIORITY = 10;

/**
 * Refuses a priority that is not an integer from -10 to 10 (`InvalidOptionError` naming `option`).
 */
export function assertPriority(option: string, value: unknown): asserts value is number {
  assertInteger(option, value, MIN_PRIORITY, MAX_PRIORITY);
}

/**
 * A waiting job's priority now: its own, lifted by one level per `agingMs` it has waited (never
 * past the highest), so that a low priority cannot starve.
 */
export function agedPriority(
  priority: number,
  agingMs: number | undefined,
  waitedMs: number,
): number {
  if (!agingMs || waitedMs < agingMs) return priority;
  return Math.min(MAX_PRIORITY, priority + Math.floor(waitedMs / agingMs));
}

/**
 * The `static readonly priority` of a class event's class, checked; undefined when it declares
 * none (or the event is not a class instance).
 */
export function classPriority(event: unknown): number | undefined {
  const eventClass = (event as { constructor?: Function } | null)?.constructor;
  const priority = (eventClass as { priority?: unknown } | undefined)?.priority;
  if (priority === undefined) return undefined;
  assertPriority(`static priority of event class ${eventClass?.name}`, priority);
  return priority;
}
