import { filter, type OperatorFunction } from 'rxjs';
import type { EventEnvelope } from '../event/event-envelope.js';
import { getEventClassName } from '../event/event-name.js';
import { compilePattern, parsePattern } from '../discovery/pattern-trie.js';

/**
 * An RxJS operator for reactive sagas: keeps the events whose name matches one of the patterns
 * (`'order.*'`, `'**'`) or is the name of one of the event classes.
 *
 * @example
 * events$.pipe(ofEvent('order.placed', PaymentCaptured), map(...))
 */
export function ofEvent<T = unknown>(
  ...selectors: (string | Function)[]
): OperatorFunction<EventEnvelope, EventEnvelope<T>> {
  const matchers = selectors.map((selector) => {
    const pattern = typeof selector === 'function' ? getEventClassName(selector) : selector;
    parsePattern(pattern, 'ofEvent');
    return compilePattern(pattern);
  });
  return filter((event): event is EventEnvelope<T> => matchers.some((m) => m(event.name)));
}
