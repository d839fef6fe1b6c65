import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import type { Subscription } from 'rxjs';
import { ListenerRegistry } from '../discovery/listener.registry.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { EVENTS_OPTIONS, QUEUE_TRANSPORT } from '../events.constants.js';
import type { ResolvedEventsOptions } from '../events.options.js';
import type { QueueTransport } from '../queue/queue-transport.interface.js';
import { Worker } from '../queue/worker.js';
import {
  EVENTS_SERVER_LINK,
  isEventsServerLinkTarget,
  type EventsServerHost,
  type EventsServerLinkTarget,
} from './events-server.link.js';
import { LATE_LISTENER_WINDOW_MS } from './inbound.constants.js';
import { InboundFanOut } from './inbound.fan-out.js';

/**
 * Links the app's `EventsServer` (if it has one) to this module: see `EVENTS_SERVER_LINK`.
 * Without a server, the worker starts on its own at bootstrap; either way, a worker app on Redis
 * serves `EventsClient` events (see `InboundFanOut`).
 */
@Injectable()
export class EventsServerBinding
  implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown
{
  private subscription: Subscription | undefined;
  private linked: EventsServerLinkTarget | undefined;
  private fanOut: InboundFanOut | undefined;

  constructor(
    private readonly container: ModulesContainer,
    private readonly worker: Worker,
    private readonly registry: ListenerRegistry,
    @Inject(EVENTS_OPTIONS) private readonly options: ResolvedEventsOptions,
    @Inject(QUEUE_TRANSPORT) private readonly transport: QueueTransport,
  ) {}

  async onModuleInit(): Promise<void> {
    // A replayed subject: strategies registered before init are seen at once, later ones too.
    this.subscription = this.container.getRpcTargetRegistry().subscribe((target) => {
      if (isEventsServerLinkTarget(target)) this.link(target);
    });
    const isWorker = this.linked !== undefined || this.options.worker.enabled;
    if (!isWorker || !this.transport.isDurable || this.options.redis === undefined) return;
    this.fanOut = await InboundFanOut.connect(
      {
        options: this.options,
        transport: this.transport,
        registry: this.registry,
        worker: this.worker,
      },
      this.linked?.lateListenerWindowMs ?? LATE_LISTENER_WINDOW_MS,
    );
    this.fanOut.install();
  }

  async onApplicationBootstrap(): Promise<void> {
    // With a server, the directory learns the listeners when the server starts the worker.
    if (this.linked === undefined) await this.fanOut?.announce();
  }

  async onApplicationShutdown(): Promise<void> {
    this.subscription?.unsubscribe();
    await this.fanOut?.close();
  }

  private link(target: EventsServerLinkTarget): void {
    if (this.linked) {
      throw new InvalidOptionError(
        'strategy',
        'a second EventsServer',
        'one EventsServer per application (give it every queue the process should work on)',
      );
    }
    this.linked = target;
    this.worker.deferToServer();
    const host: EventsServerHost = {
      options: this.options,
      transport: this.transport,
      addListener: (definition) => this.registry.add(definition),
      start: async (plan) => {
        this.worker.startForServer(plan);
        await this.fanOut?.announce();
      },
      stop: () => this.worker.beforeApplicationShutdown(),
    };
    target[EVENTS_SERVER_LINK](host);
  }
}
