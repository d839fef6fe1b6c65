import { EVENT_NAME_METADATA } from '../events.constants.js';
import { assertEventName } from '../event/event-name.js';

/**
 * Names an event class: sugar for `static readonly eventName = name`.
 *
 * @example
 * @EventName('order.shipped')
 * export class OrderShipped { constructor(readonly orderId: string) {} }
 */
export function EventName(name: string): ClassDecorator {
  assertEventName(name);
  return (target) => {
    Reflect.defineMetadata(EVENT_NAME_METADATA, name, target);
  };
}
