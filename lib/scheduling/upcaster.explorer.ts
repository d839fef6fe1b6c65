import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { EventBus } from '../bus/event-bus.js';
import { ListenerRegistry } from '../discovery/listener.registry.js';
import { EventStore } from '../store/event-store.js';
import { Worker } from '../queue/worker.js';
import { EventVersions, type UpcastFn } from './event-versions.js';
import { UPCASTER_METADATA, type UpcasterMetadata } from './upcaster.decorator.js';

/**
 * Finds `@Upcaster` methods at boot, checks their chains (a bad chain fails the boot), and hands
 * the result to the bus (emits carry the current version), the worker and the event store (older
 * events are upcast where they are read). With no versioned event, nothing is installed.
 */
@Injectable()
export class UpcasterExplorer implements OnModuleInit {
  private isExplored = false;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly versions: EventVersions,
    private readonly registry: ListenerRegistry,
    private readonly bus: EventBus,
    private readonly worker: Worker,
    private readonly store: EventStore,
  ) {}

  onModuleInit(): void {
    if (this.isExplored) return;
    this.isExplored = true;
    const found: { name: string; from: number; fn: UpcastFn; owner: string }[] = [];
    const classes: Function[] = [];
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (wrapper.isAlias || !instance || typeof instance !== 'object') continue;
      const prototype = Object.getPrototypeOf(instance) as Record<string, Function>;
      for (const methodName of this.scanner.getAllMethodNames(prototype)) {
        const method = prototype[methodName];
        const meta = Reflect.getMetadata(UPCASTER_METADATA, method) as UpcasterMetadata | undefined;
        if (!meta) continue;
        if (meta.eventClass) classes.push(meta.eventClass);
        found.push({
          name: meta.name,
          from: meta.from,
          fn: method.bind(instance) as UpcastFn,
          owner: `${instance.constructor.name}.${methodName}`,
        });
      }
    }
    this.versions.define(found, (name) => this.registry.eventClass(name), classes);
    if (this.versions.isEmpty) return;
    this.bus.useVersions((name) => this.versions.current(name));
    this.worker.readEvent = (envelope) => this.versions.readQueued(envelope);
    this.store.upcastWith(
      (envelope) => this.versions.upcast(envelope),
      (name) => this.versions.current(name),
    );
  }
}
