import {
  Injectable,
  type OnApplicationShutdown,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { EventBus } from '../bus/event-bus.js';
import { ListenerRegistry } from '../discovery/listener.registry.js';
import { facadeState, type FacadeTarget } from './event-facade.state.js';

/**
 * @internal Makes this application known to `EventFacade`: registered when the events module
 * starts (so `EventFacade.fake()` acts on the application that started last), removed when it
 * shuts down. Costs nothing outside tests: one array push per application start.
 */
@Injectable()
export class EventFacadeBinding implements OnModuleInit, OnModuleDestroy, OnApplicationShutdown {
  readonly target: FacadeTarget;

  constructor(bus: EventBus, registry: ListenerRegistry) {
    this.target = { bus, registry, seq: facadeState.nextSeq() };
  }

  onModuleInit(): void {
    facadeState.register(this.target);
  }

  onModuleDestroy(): void {
    facadeState.unregister(this.target);
  }

  onApplicationShutdown(): void {
    facadeState.unregister(this.target);
  }
}
