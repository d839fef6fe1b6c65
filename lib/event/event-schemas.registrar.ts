import { Inject, Injectable } from '@nestjs/common';
import { EventBus } from '../bus/event-bus.js';
import { EVENTS_OPTIONS } from '../events.constants.js';
import type { ResolvedEventsOptions } from '../events.options.js';
import { Worker } from '../queue/worker.js';

/**
 * Gives the bus the schemas of `forRoot({ schemas })` when the module is built, so emits are
 * validated from the first one (bootstrap emits included), and has the worker run the bus's
 * schemas (those of `bus.addValidator` too) on queued payloads: a queued job carries what the
 * schema accepted, and the handler gets the schema's output, whichever way it was declared.
 */
@Injectable()
export class EventSchemasRegistrar {
  constructor(
    bus: EventBus,
    @Inject(EVENTS_OPTIONS) options: ResolvedEventsOptions,
    worker: Worker,
  ) {
    for (const [name, schema] of options.schemas) bus.addValidator(name, schema);
    worker.schemaOf = (name) => bus.schemaOf(name);
  }
}
