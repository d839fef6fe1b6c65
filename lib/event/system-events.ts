/**
 * The library's own events (broadcasts, notifications) travel on the bus under names starting
 * with this prefix. Listeners whose patterns do not spell the prefix out (`'**'`, `'*.broadcast'`)
 * never receive them, and the event store does not record them: an application sees only its
 * own events.
 */
export const SYSTEM_EVENT_PREFIX = 'nestjs-events.';

/** Whether an emitted name is one of the library's own events. */
export function isSystemEvent(name: string): boolean {
  return name.startsWith(SYSTEM_EVENT_PREFIX);
}

/** Whether a listener pattern asks for the library's own events by their prefix. */
export function isSystemPattern(pattern: string): boolean {
  return pattern.startsWith(SYSTEM_EVENT_PREFIX);
}
