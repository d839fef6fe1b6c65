import type { EventEnvelope } from '../event/event-envelope.js';
import type { ListenerDefinition, ListenerFn } from '../discovery/listener-definition.js';
import { timeCall } from './time-call.js';

/** Told of each timed in-process call: the listener, the event, how long, whether it failed. */
export type InProcessReport = (
  listener: ListenerDefinition,
  event: EventEnvelope,
  durationMs: number,
  isFailed: boolean,
) => void;

/**
 * The same in-process listener, its calls timed (`metrics.inProcess`). A sync listener stays sync
 * (no promise is made for it); one that returns a promise is timed until it settles.
 */
export function timedListener(
  definition: ListenerDefinition,
  report: InProcessReport,
): ListenerDefinition {
  const invoke = definition.invoke;
  const timed: ListenerFn = (event, context) =>
    timeCall(
      () => invoke(event, context),
      (durationMs, isFailed) => report(definition, event, durationMs, isFailed),
    );
  return { ...definition, invoke: timed };
}
