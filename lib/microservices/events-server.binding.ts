import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import type { Subscription } from 'rxjs';
import { ListenerRegistry } from '../discovery/listener.registry.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { EVENTS_OPTIONS, QUEUE_TRANSPORT } from '../events.constants.js';
import type { ResolvedEventsOptions } from '../events.options.js';
import { QueueProducer } from '../queue/queue.producer.js';
import type { QueueTransport } from '../queue/queue-transport.interface.js';
import { Worker } from '../queue/worker.js';
import {
  EVENTS_SERVER_LINK,
  isEventsServerLinkTarget,
  type EventsServerHost,
  type EventsServerLinkTarget,
} from './events-server.link.js';
import { inboundListener } from './inbound.listener.js';

/**
 * Links the app's `EventsServer` (if it has one) to this module: see `EVENTS_SERVER_LINK`.
 * Without a server it does nothing, and the worker starts on its own at bootstrap.
 */
@Injectable()
export class EventsServerBinding implements OnModuleInit, OnApplicationShutdown {
  private subscription: Subscription | undefined;
  private isLinked = false;

  constructor(
    private readonly container: ModulesContainer,
    private readonly worker: Worker,
    private readonly registry: ListenerRegistry,
    private readonly producer: QueueProducer,
    @Inject(EVENTS_OPTIONS) private readonly options: ResolvedEventsOptions,
    @Inject(QUEUE_TRANSPORT) private readonly transport: QueueTransport,
  ) {}

  onModuleInit(): void {
    // A replayed subject: strategies registered before init are seen at once, later ones too.
    this.subscription = this.container.getRpcTargetRegistry().subscribe((target) => {
      if (isEventsServerLinkTarget(target)) this.link(target);
    });
  }

  onApplicationShutdown(): void {
    this.subscription?.unsubscribe();
  }

  private link(target: EventsServerLinkTarget): void {
    if (this.isLinked) {
      throw new InvalidOptionError(
        'strategy',
        'a second EventsServer',
        'one EventsServer per application (give it every queue the process should work on)',
      );
    }
    this.isLinked = true;
    this.worker.deferToServer();
    this.registry.add(inboundListener(this.registry, this.producer));
    const host: EventsServerHost = {
      options: this.options,
      transport: this.transport,
      addListener: (definition) => this.registry.add(definition),
      start: (plan) => this.worker.startForServer(plan),
      stop: () => this.worker.beforeApplicationShutdown(),
    };
    target[EVENTS_SERVER_LINK](host);
  }
}
