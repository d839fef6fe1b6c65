import { GeneratorInputError } from './generator-input.error.js';

/** A class name the generators accept: PascalCase, letters and digits. */
export const PASCAL_CASE = /^[A-Z][a-z0-9]*(?:[A-Z][a-z0-9]*)*$/;
/** A concrete event name: dot-separated segments without white space or wildcards. */
const EVENT_NAME = /^[^\s.*]+(?:\.[^\s.*]+)*$/;
/** A queue name, as `@ShouldQueue({ queue })` takes it. */
const QUEUE_NAME = /^[^\s{}]+$/;

/** `OrderShipped` → `order-shipped` (the file name). */
export function kebabCase(className: string): string {
  return className.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

/** `OrderShipped` → `order.shipped` (the default event name). */
export function dottedName(className: string): string {
  return className.replace(/([a-z0-9])([A-Z])/g, '$1.$2').toLowerCase();
}

export function assertClassName(what: string, value: string): void {
  if (!PASCAL_CASE.test(value)) {
    throw new GeneratorInputError(
      `${what} must be a PascalCase class name (OrderShipped), received "${value}".`,
    );
  }
}

export function assertEventName(value: string): void {
  if (!EVENT_NAME.test(value)) {
    throw new GeneratorInputError(
      `The event name must be dot-separated segments without spaces or wildcards (order.shipped), received "${value}".`,
    );
  }
}

export function assertQueueName(value: string): void {
  if (!QUEUE_NAME.test(value)) {
    throw new GeneratorInputError(
      `The queue name must have no spaces or braces, received "${value}".`,
    );
  }
}
