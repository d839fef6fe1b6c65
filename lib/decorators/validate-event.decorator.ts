import { InvalidOptionError } from '../errors/invalid-option.error.js';
import type { EventValidator } from '../middleware/event-validators.js';
import { VALIDATE_EVENT_METADATA } from '../middleware/event-validators.js';

/**
 * Declares the validator of an event class: `emit(new UserRegistered(...))` runs it first and
 * rejects with `EventValidationError` (listing every violation) before anything is stored or any
 * listener runs. For events emitted by name, use `bus.addValidator(name, validator)`.
 *
 * @example
 * @EventName('user.registered')
 * @ValidateEvent((e: UserRegistered) => [
 *   ...(e.email.includes('@') ? [] : [{ path: 'email', message: 'must be an email address' }]),
 * ])
 * export class UserRegistered { constructor(readonly email: string) {} }
 */
export function ValidateEvent<T extends object>(validator: EventValidator<T>): ClassDecorator {
  if (typeof validator !== 'function') {
    throw new InvalidOptionError('@ValidateEvent', validator, 'a function (event) => violations');
  }
  return (target) => {
    Reflect.defineMetadata(VALIDATE_EVENT_METADATA, validator, target);
  };
}
