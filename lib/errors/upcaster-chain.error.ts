import { EventsError } from './events.error.js';

/**
 * The upcasters of an event do not form one chain from version 1 to its current version: a gap,
 * two upcasters for one version, or a chain that stops short of the class's `eventVersion`.
 * Fails the boot.
 */
export class UpcasterChainError extends EventsError {
  constructor(
    readonly eventName: string,
    readonly problem: 'gap' | 'duplicate' | 'short',
    detail: string,
  ) {
    super('EVENTS_UPCASTER_CHAIN', `Upcasters of "${eventName}": ${detail}.`);
  }
}
