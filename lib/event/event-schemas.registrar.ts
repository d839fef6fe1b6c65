import { Inject, Injectable } from '@nestjs/common';
import { EventBus } from '../bus/event-bus.js';
import { EVENTS_OPTIONS } from '../events.constants.js';
import type { ResolvedEventsOptions } from '../events.options.js';

/**
 * Gives the bus the schemas of `forRoot({ schemas })` when the module is built, so emits are
 * validated from the first one (bootstrap emits included).
 */
@Injectable()
export class EventSchemasRegistrar {
  constructor(bus: EventBus, @Inject(EVENTS_OPTIONS) options: ResolvedEventsOptions) {
    for (const [name, schema] of options.schemas) bus.addValidator(name, schema);
  }
}
