import { Inject, Injectable, Logger, type OnModuleInit, type Type } from '@nestjs/common';
import { ContextIdFactory, DiscoveryService, MetadataScanner, ModuleRef } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import { EVENTS_OPTIONS } from '../events.constants.js';
import type { ResolvedEventsOptions } from '../events.options.js';
import { UnsupportedListenerError } from '../errors/unsupported-scope.error.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import type { OnEventMetadata } from '../decorators/on-event.decorator.js';
import type { ShouldQueueOptions } from '../decorators/should-queue.decorator.js';
import type {
  EventMiddleware,
  EventMiddlewareRef,
  ListenerInfo,
} from '../middleware/event-middleware.interface.js';
import { composeBatchMiddleware } from '../middleware/batch-middleware-chain.js';
import { composeMiddleware } from '../middleware/middleware-chain.js';
import { EventBus } from '../bus/event-bus.js';
import { ListenerMetadataAccessor } from './listener-metadata.accessor.js';
import type {
  ListenerDefinition,
  ListenerFn,
  ResolvedQueueOptions,
} from './listener-definition.js';
import { ListenerRegistry } from './listener.registry.js';
import { resolveGroupOptions, type GroupOptions } from '../queue/flow/group-options.js';
import { bindBatchKey, type BatchOptions } from '../queue/flow/batch-options.js';
import { collectingCall } from '../queue/flow/collected-events.js';

/**
 * Finds every `@OnEvent` method of every provider at module init, before any other module's
 * `onModuleInit` runs (the events module is global, so its hooks run first), registers them,
 * then lets the bus deliver what was emitted earlier.
 */
@Injectable()
export class ListenerExplorer implements OnModuleInit {
  private readonly logger = new Logger(ListenerExplorer.name);
  private isExplored = false;
  private readonly middlewareInstances = new Map<Function, EventMiddleware>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly accessor: ListenerMetadataAccessor,
    private readonly registry: ListenerRegistry,
    private readonly bus: EventBus,
    private readonly moduleRef: ModuleRef,
    @Inject(EVENTS_OPTIONS) private readonly options: ResolvedEventsOptions,
  ) {}

  async onModuleInit(): Promise<void> {
    // Init hooks can run twice (a microservice's `init()` then `listen()`): bind listeners once.
    if (this.isExplored) return;
    this.isExplored = true;
    const global = await Promise.all(
      this.options.middleware.map((m) => this.middlewareInstance(m)),
    );
    for (const wrapper of this.discovery.getProviders()) {
      await this.exploreProvider(wrapper, global);
    }
    this.bus.bind();
  }

  private async exploreProvider(
    wrapper: InstanceWrapper,
    global: EventMiddleware[],
  ): Promise<void> {
    if (wrapper.isAlias) return;
    const isStatic = wrapper.isDependencyTreeStatic() && !wrapper.isTransient;
    const instance = wrapper.instance as Record<string, unknown> | undefined;
    let classRef: Function | undefined;
    if (isStatic) {
      if (!instance || typeof instance !== 'object') return;
      classRef = instance.constructor;
    } else {
      classRef = wrapper.inject ? undefined : (wrapper.metatype as Function | undefined);
    }
    if (!classRef || classRef === Object) return;
    const prototype = classRef.prototype as Record<string, Function>;
    for (const methodName of this.scanner.getAllMethodNames(prototype)) {
      const method = prototype[methodName];
      const records = this.accessor.onEvent(method);
      const queueOptions = this.accessor.shouldQueue(classRef, method);
      if (!records?.length) {
        if (this.accessor.hasOwnShouldQueue(method)) {
          throw new UnsupportedListenerError(
            `${classRef.name}.${methodName}`,
            '@ShouldQueue marks a listener as queued, but the method has no @OnEvent',
          );
        }
        continue;
      }
      if (!isStatic && (!classRef || wrapper.inject)) {
        throw new UnsupportedListenerError(
          String(wrapper.name),
          'a request-scoped factory provider cannot be a listener; use a class provider',
        );
      }
      const direct: ListenerFn = isStatic
        ? (method.bind(instance) as ListenerFn)
        : this.perEventCall(classRef as Type, methodName);
      const call = queueOptions?.debounce?.collect === true ? collectingCall(direct) : direct;
      const isSyncMethod = isStatic && method.constructor.name !== 'AsyncFunction';
      const own = await Promise.all(
        this.accessor.middleware(classRef, method).map((m) => this.middlewareInstance(m)),
      );
      records.forEach((record, index) => {
        const id =
          record.id ??
          (records.length > 1
            ? `${classRef.name}.${methodName}#${index}`
            : `${classRef.name}.${methodName}`);
        this.registry.add(
          this.definition(
            id,
            classRef,
            methodName,
            record,
            call,
            [...global, ...own],
            queueOptions,
            instance,
            isSyncMethod,
          ),
        );
      });
    }
  }

  private definition(
    id: string,
    classRef: Function,
    methodName: string,
    record: OnEventMetadata,
    call: ListenerFn,
    middleware: EventMiddleware[],
    queueOptions: ShouldQueueOptions | undefined,
    instance: Record<string, unknown> | undefined,
    isSyncMethod: boolean,
  ): ListenerDefinition {
    const info: ListenerInfo = {
      id,
      className: classRef.name,
      methodName,
      isQueued: !!queueOptions,
    };
    return {
      id,
      aliases: record.aliases,
      patterns: record.patterns,
      priority: record.priority,
      filter: record.filter,
      afterCommit: record.afterCommit,
      info,
      // A batched listener's middleware runs per job of the batch, around one call.
      invoke: (queueOptions?.batch === undefined ? composeMiddleware : composeBatchMiddleware)(
        middleware,
        call,
        info,
      ),
      // A plain method without middleware is done when it returns: no async context needed.
      isAsync: !isSyncMethod || middleware.length > 0,
      queue: queueOptions && this.queueOptions(id, queueOptions, instance),
      eventClasses: record.eventClasses,
      classRef,
    };
  }

  private queueOptions(
    id: string,
    options: ShouldQueueOptions,
    instance: Record<string, unknown> | undefined,
  ): ResolvedQueueOptions {
    const defaults = this.options.defaults;
    let onFailed: ResolvedQueueOptions['onFailed'];
    if (typeof options.onFailed === 'string') {
      const hook = instance?.[options.onFailed];
      if (typeof hook !== 'function') {
        throw new InvalidOptionError(
          `@ShouldQueue onFailed on ${id}`,
          options.onFailed,
          'the name of a method of the same provider',
        );
      }
      onFailed = hook.bind(instance) as ResolvedQueueOptions['onFailed'];
    } else if (typeof options.onFailed === 'function') {
      onFailed = options.onFailed.bind(instance);
    }
    return {
      queue: options.queue ?? defaults.queue,
      tries: options.tries ?? defaults.tries,
      backoff: options.backoff ?? defaults.backoff,
      delay: options.delay ?? 0,
      timeout: options.timeout ?? defaults.timeout,
      onFailed,
      ...(options.priority && { priority: options.priority }),
      ...(options.priorityAgingMs && { priorityAgingMs: options.priorityAgingMs }),
      ...(options.when && { when: options.when.bind(instance) as ResolvedQueueOptions['when'] }),
      group: resolveGroupOptions(options as GroupOptions<never>, instance),
      ...(options.singleton && {
        singleton: options.singleton as ResolvedQueueOptions['singleton'],
      }),
      ...(options.cancelOn && { cancelOn: options.cancelOn as ResolvedQueueOptions['cancelOn'] }),
      ...(options.debounce && { debounce: options.debounce as ResolvedQueueOptions['debounce'] }),
      ...(options.batch && { batch: bindBatchKey(options.batch as BatchOptions, instance) }),
    };
  }

  /** A request-scoped or transient listener: a fresh instance per event, with the event as its request. */
  private perEventCall(classRef: Type, methodName: string): ListenerFn {
    return async (event, context) => {
      const contextId = ContextIdFactory.create();
      this.moduleRef.registerRequestByContextId(event, contextId);
      const instance = (await this.moduleRef.resolve(classRef, contextId, {
        strict: false,
      })) as Record<string, Function>;
      return instance[methodName](event, context);
    };
  }

  private async middlewareInstance(ref: EventMiddlewareRef): Promise<EventMiddleware> {
    if (typeof ref !== 'function') return ref;
    const known = this.middlewareInstances.get(ref);
    if (known) return known;
    let instance: EventMiddleware;
    try {
      instance = this.moduleRef.get<EventMiddleware>(ref, { strict: false });
    } catch {
      // Not registered as a provider: instantiate it with DI, once.
      instance = await this.moduleRef.create<EventMiddleware>(ref);
    }
    this.middlewareInstances.set(ref, instance);
    return instance;
  }
}
