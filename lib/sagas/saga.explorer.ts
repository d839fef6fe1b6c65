import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import type { Subscription } from 'rxjs';
import { EventBus } from '../bus/event-bus.js';
import { isEventInstance } from '../event/event-name.js';
import { EventContext } from '../event/event-context.js';
import type { EventEnvelope } from '../event/event-envelope.js';
import { ListenerRegistry } from '../discovery/listener.registry.js';
import { EVENTS_OPTIONS } from '../events.constants.js';
import type { ResolvedEventsOptions } from '../events.options.js';
import { SagaDefinitionError } from '../errors/saga-definition.error.js';
import { InvalidSagaOutputError } from '../errors/saga-output.error.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import type { EmitOptions } from '../bus/emit-options.js';
import { SAGA_METADATA } from './saga.constants.js';
import type { SagaErrorHook, SagaMetadata, SagaOutput } from './saga.decorator.js';
import { ReactiveSagaRunner } from './reactive-saga.runner.js';
import { SagaCatalog } from './saga.catalog.js';
import { SagaManager } from './saga.manager.js';
import { resolveOrchestratedSaga } from './orchestrated-saga.resolver.js';
import { sagaListeners } from './saga-listeners.js';

/**
 * Finds `@Saga` members and `@OrchestratedSaga` classes at module init: reactive sagas are
 * subscribed to the bus; orchestrated ones are checked and their jobs registered as queued
 * listeners (before the worker starts, at bootstrap).
 */
@Injectable()
export class SagaExplorer implements OnModuleInit, OnApplicationShutdown {
  private readonly runners: ReactiveSagaRunner[] = [];
  private subscription: Subscription | undefined;
  private isExplored = false;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly bus: EventBus,
    private readonly registry: ListenerRegistry,
    private readonly catalog: SagaCatalog,
    private readonly manager: SagaManager,
    @Inject(EVENTS_OPTIONS) private readonly options: ResolvedEventsOptions,
  ) {}

  onModuleInit(): void {
    if (this.isExplored) return;
    this.isExplored = true;
    for (const wrapper of this.discovery.getProviders()) {
      if (wrapper.isAlias || !wrapper.isDependencyTreeStatic() || wrapper.isTransient) continue;
      const instance = wrapper.instance as Record<string | symbol, unknown> | undefined;
      if (!instance || typeof instance !== 'object' || instance.constructor === Object) continue;
      this.exploreReactive(instance);
      const saga = resolveOrchestratedSaga(instance, this.options.defaults);
      if (saga) this.catalog.add(saga);
    }
    for (const saga of this.catalog.all()) {
      for (const listener of sagaListeners(saga, this.manager)) this.registry.add(listener);
    }
    if (this.runners.length > 0) {
      const runners = this.runners;
      const feedAll = (event: EventEnvelope): void => {
        for (const runner of runners) runner.feedInContext(event);
      };
      // One async context per event for every saga: what each emits is caused by it.
      this.subscription = this.bus
        .stream()
        .subscribe((event) => EventContext.runAs(event, feedAll, event));
    }
  }

  private exploreReactive(instance: Record<string | symbol, unknown>): void {
    const ctor = instance.constructor;
    const sagas = Reflect.getMetadata(SAGA_METADATA, ctor) as SagaMetadata[] | undefined;
    for (const { key, options } of sagas ?? []) {
      const id = `${ctor.name}.${String(key)}`;
      const fn = instance[key];
      if (typeof fn !== 'function') {
        throw new SagaDefinitionError(
          id,
          '@Saga marks a member that is not a function (events$) => Observable',
        );
      }
      let onError = options.onError;
      if (typeof onError === 'string') {
        const hook = instance[onError];
        if (typeof hook !== 'function') {
          throw new InvalidOptionError(
            `@Saga onError on ${id}`,
            onError,
            'the name of a method of the same provider',
          );
        }
        onError = hook as SagaErrorHook;
      }
      const runner = new ReactiveSagaRunner(
        {
          id,
          fn: fn.bind(instance) as never,
          onError: onError && (onError as SagaErrorHook).bind(instance),
          tries: options.retry?.tries ?? 1,
          backoff: options.retry?.backoff ?? 0,
        },
        { emitOutput: (output) => this.emitOutput(id, output) },
      );
      runner.start();
      this.runners.push(runner);
    }
  }

  /** Emits one output of a reactive saga (in the triggering event's context). */
  private emitOutput(saga: string, output: SagaOutput): Promise<unknown> | undefined {
    if (isEventInstance(output)) return this.bus.emitReported(output);
    const named = output as { name?: unknown; data?: unknown; options?: EmitOptions };
    if (Object.getPrototypeOf(output) === Object.prototype && typeof named.name === 'string') {
      return this.bus.emitReported(named.name, named.data, named.options);
    }
    throw new InvalidSagaOutputError(saga, output);
  }

  onApplicationShutdown(): void {
    this.subscription?.unsubscribe();
    for (const runner of this.runners) runner.stop();
  }
}
