import type { EventEnvelope } from '../event/event-envelope.js';
import type { ListenerDefinition, ListenerFn } from '../discovery/listener-definition.js';
import { isThenable } from '../is-thenable.js';

/** Told of each timed in-process call: the listener, the event, how long, whether it failed. */
export type InProcessReport = (
  listener: ListenerDefinition,
  event: EventEnvelope,
  durationMs: number,
  isFailed: boolean,
) => void;

/**
 * The same in-process listener, its calls timed (`metrics.inProcess`). A sync listener stays sync
 * (no promise is made for it); one that returns a promise is timed until it settles, and the
 * caller gets that same promise. No closure per call: this runs on every in-process dispatch.
 */
export function timedListener(
  definition: ListenerDefinition,
  report: InProcessReport,
): ListenerDefinition {
  const invoke = definition.invoke;
  const timed: ListenerFn = (event, context) => {
    const startedAt = performance.now();
    let result: unknown;
    try {
      result = invoke(event, context);
    } catch (error) {
      report(definition, event, performance.now() - startedAt, true);
      throw error;
    }
    if (isThenable(result)) {
      result.then(
        () => report(definition, event, performance.now() - startedAt, false),
        () => report(definition, event, performance.now() - startedAt, true),
      );
    } else {
      report(definition, event, performance.now() - startedAt, false);
    }
    return result;
  };
  return { ...definition, invoke: timed };
}
