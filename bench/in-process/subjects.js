// The libraries measured by the in-process bench (SUBJECTS): per library, and per variant of
// ours, the set-up of one case in the mode a user would run it (the Nest ones in a real
// application context with their decorators).
import 'reflect-metadata';
import { AsyncLocalStorage } from 'node:async_hooks';
import { EventEmitter } from 'node:events';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CqrsModule, EventBus as CqrsEventBus, EventsHandler } from '@nestjs/cqrs';
import {
  EventEmitter2 as NestEventEmitter2,
  EventEmitterModule,
  OnEvent as NestOnEvent,
} from '@nestjs/event-emitter';
import EventEmitter2Module from 'eventemitter2';
import { Registry } from 'prom-client';
import { EventBus, EventsModule, OnEvent, ShouldQueue } from '../../dist/index.js';
import { EMIT_NAME, PAYLOAD, asyncListener, hits, syncListener } from './cases.js';

const { EventEmitter2 } = EventEmitter2Module;

// ---------------------------------------------------------------------------------------------
// Subjects: each sets a case up and returns { emit, close, note? }, or { skip: reason }.

/** A provider class with one decorated method per pattern, decorators applied as functions. */
function listenerClass(name, patterns, isAsync, decorate) {
  const Listeners = { [name]: class {} }[name];
  patterns.forEach((pattern, i) => {
    const key = `on${i}`;
    Object.defineProperty(Listeners.prototype, key, {
      value: isAsync ? asyncListener() : syncListener(),
      writable: true,
      configurable: true,
    });
    decorate(pattern)(
      Listeners.prototype,
      key,
      Object.getOwnPropertyDescriptor(Listeners.prototype, key),
    );
  });
  Injectable()(Listeners);
  return Listeners;
}

async function nestApp(imports, providers) {
  const AppModule = class BenchAppModule {};
  Module({ imports, providers })(AppModule);
  return NestFactory.createApplicationContext(AppModule, { logger: false });
}

export const SUBJECTS = [
  {
    id: 'node',
    label: 'Node `EventEmitter`',
    async setup(c) {
      if (c.needsWildcards) return { skip: 'no wildcards' };
      const emitter = new EventEmitter();
      emitter.setMaxListeners(0);
      for (const p of c.patterns) emitter.on(p, c.isAsync ? asyncListener() : syncListener());
      if (c.isAsync) {
        // No emitAsync: call the listeners and await their promises, the least any bus must do.
        return {
          emit: () => Promise.all(emitter.listeners(EMIT_NAME).map((fn) => fn(PAYLOAD))),
          note: '`Promise.all(emitter.listeners(name).map((fn) => fn(payload)))`',
        };
      }
      return { emit: () => emitter.emit(EMIT_NAME, PAYLOAD) };
    },
  },
  {
    id: 'floorAls',
    label: 'floor: the listeners alone, awaited, app with an `AsyncLocalStorage`',
    isVariant: true,
    setup(c) {
      if (!c.isAsync || c.isQueued) return { skip: 'async cases only' };
      // What any bus that carries a context across `await` pays at least on Node 20 (promise
      // hooks on every promise): the listeners' own promises, one reaction each to gather the
      // results, and the caller's await; no envelope, no lookup, no context entered per emit.
      new AsyncLocalStorage().run({}, () => undefined);
      const fns = c.patterns.filter((p) => p === EMIT_NAME).map(() => asyncListener());
      const one = (value) => [value];
      return {
        emit:
          fns.length === 1
            ? () => fns[0](PAYLOAD).then(one)
            : () => Promise.all(fns.map((fn) => fn(PAYLOAD))),
        note:
          '`listener(payload).then((v) => [v])` (ten: `Promise.all` of the ten), in a process ' +
          'with an `AsyncLocalStorage` entered: the promise hooks alone, nothing of a bus',
      };
    },
  },
  {
    id: 'floorAlsContract',
    label: 'floor: what every awaited emit of ours must do, nothing else',
    isVariant: true,
    setup(c) {
      if (!c.isAsync || c.isQueued) return { skip: 'async cases only' };
      // The listeners alone (the row above), plus what the contract adds to every awaited emit:
      // the envelope's timestamp, the payload's symbol-key check, the current context read (an
      // emit inherits its metadata), and the listeners run inside the event's context, so that
      // it carries across their `await` (the public `AsyncLocalStorage.run`). No id, no lookup.
      const storage = new AsyncLocalStorage();
      storage.run({}, () => undefined);
      const fns = c.patterns.filter((p) => p === EMIT_NAME).map(() => asyncListener());
      const one = (value) => [value];
      const all = (envelope) => Promise.all(fns.map((fn) => fn(envelope)));
      const run = fns.length === 1 ? (envelope) => fns[0](envelope).then(one) : all;
      return {
        emit() {
          const parent = storage.getStore();
          if (Object.getOwnPropertySymbols(PAYLOAD).length > 0) throw new TypeError('symbol key');
          const envelope = { name: EMIT_NAME, data: PAYLOAD, timestamp: Date.now(), parent };
          return storage.run(envelope, run, envelope);
        },
        note:
          'the row above, plus `Date.now()`, `Object.getOwnPropertySymbols(payload)`, ' +
          '`storage.getStore()` and the listeners called inside `storage.run(envelope, ...)`: ' +
          'the least an awaited emit that carries its context across `await` pays',
      };
    },
  },
  {
    id: 'floorContract',
    label: 'floor: what every emit of ours must do, nothing else',
    isVariant: true,
    setup(c) {
      if (c.isAsync) return { skip: 'sync cases only' };
      // What the contract makes every emit pay, whatever the code around it: the envelope's
      // timestamp (a clock read), the payload check's refusal of symbol keys (the one own-keys
      // call that sees them), and the promise `emit` returns; the listeners are found by one
      // Map lookup and called directly. No id, no context, no options: a lower bound.
      const table = new Map([
        [EMIT_NAME, c.patterns.filter((p) => p === EMIT_NAME || p === 'order.*').map(syncListener)],
      ]);
      return {
        emit() {
          const listeners = table.get(EMIT_NAME);
          if (Object.getOwnPropertySymbols(PAYLOAD).length > 0) throw new TypeError('symbol key');
          const envelope = { name: EMIT_NAME, data: PAYLOAD, timestamp: Date.now() };
          for (let i = 0; i < listeners.length; i++) listeners[i](envelope);
          return Promise.resolve(envelope);
        },
        note:
          '`Date.now()`, `Object.getOwnPropertySymbols(payload)`, the matching listeners from ' +
          'one `Map` lookup, `Promise.resolve(envelope)`: what the envelope, the payload ' +
          'contract and the returned promise cost, without the rest of a bus',
      };
    },
  },
  {
    id: 'ee2',
    label: '`eventemitter2` (wildcard)',
    async setup(c) {
      const emitter = new EventEmitter2({ wildcard: true, maxListeners: 0 });
      for (const p of c.patterns) emitter.on(p, c.isAsync ? asyncListener() : syncListener());
      if (c.isAsync) return { emit: () => emitter.emitAsync(EMIT_NAME, PAYLOAD) };
      return { emit: () => emitter.emit(EMIT_NAME, PAYLOAD) };
    },
  },
  {
    id: 'nestWildcard',
    label: '`@nestjs/event-emitter` (wildcard)',
    setup: (c) => setupNestEventEmitter(c, true),
  },
  {
    id: 'nestWildcardAls',
    label: '`@nestjs/event-emitter` (wildcard), app with an `AsyncLocalStorage`',
    setup(c) {
      // Apps that use nestjs-cls, OpenTelemetry or their own AsyncLocalStorage pay its promise
      // hooks in every library; nestjs-events always does. This row compares on that footing.
      new AsyncLocalStorage().run({}, () => undefined);
      return setupNestEventEmitter(c, true);
    },
  },
  {
    id: 'nestPlain',
    label: '`@nestjs/event-emitter` (no wildcard)',
    setup: (c) => setupNestEventEmitter(c, false),
  },
  {
    id: 'cqrs',
    label: '`@nestjs/cqrs` `EventBus`',
    async setup(c) {
      if (c.needsWildcards) return { skip: 'no patterns: handlers subscribe to event classes' };
      // One event class per distinct name, one @EventsHandler class per listener.
      const eventClasses = new Map();
      for (const p of new Set(c.patterns)) {
        eventClasses.set(
          p,
          class {
            constructor(payload) {
              this.payload = payload;
            }
          },
        );
      }
      const handlers = c.patterns.map((p) => {
        const Handler = c.isAsync
          ? class {
              async handle(event) {
                hits.n++;
                if (--event.pending === 0) event.done();
              }
            }
          : class {
              handle() {
                hits.n++;
              }
            };
        EventsHandler(eventClasses.get(p))(Handler);
        Injectable()(Handler);
        return Handler;
      });
      const app = await nestApp([CqrsModule.forRoot()], handlers);
      const bus = app.get(CqrsEventBus);
      const Event = eventClasses.get(EMIT_NAME);
      if (c.isAsync) {
        // publish() returns nothing to await: the handlers count down and resolve a promise
        // carried by the event once the last one has run.
        return {
          emit: () =>
            new Promise((resolve) => {
              const event = new Event(PAYLOAD);
              event.pending = c.expectedHits;
              event.done = resolve;
              bus.publish(event);
            }),
          close: () => app.close(),
          note: '`publish(event)`, then a promise the handlers resolve when the last one has run',
        };
      }
      return { emit: () => bus.publish(new Event(PAYLOAD)), close: () => app.close() };
    },
  },
  {
    id: 'ours',
    label: '**nestjs-events**',
    isOurs: true,
    setup: (c) => setupOurs(c, {}),
  },
  {
    id: 'oursNoContext',
    label: 'nestjs-events with `asyncContext: false`',
    isVariant: true,
    setup(c) {
      // Only awaited async listeners run differently in this mode.
      if (!c.isAsync || c.isQueued) return { skip: 'same code path as the default' };
      return setupOurs(c, { asyncContext: false });
    },
  },
  {
    id: 'oursNoMetrics',
    label: 'nestjs-events with `metrics: false`',
    isVariant: true,
    // Issue 16: the baseline of the metrics cost (the default counts emits and queued attempts).
    setup: (c) => setupOurs(c, { metrics: false }),
  },
  {
    id: 'oursObserved',
    label: 'nestjs-events with `metrics: { inProcess: true, prometheus }`',
    isVariant: true,
    // Every in-process call timed, and fed to prom-client counters and a histogram.
    setup: (c) =>
      setupOurs(c, { metrics: { inProcess: true, prometheus: { registry: new Registry() } } }),
  },
];

async function setupOurs(c, options) {
  const isAsync = c.isAsync && !c.isQueued;
  const Listeners = listenerClass('OrderListeners', c.patterns, isAsync, (p) => OnEvent(p));
  const providers = [Listeners];
  if (c.isQueued) {
    // Its runs are not counted in `hits`: the worker runs them after the emit resolved.
    class QueuedListeners {
      queued() {}
    }
    const method = Object.getOwnPropertyDescriptor(QueuedListeners.prototype, 'queued');
    ShouldQueue({ queue: 'bench' })(QueuedListeners.prototype, 'queued', method);
    OnEvent(EMIT_NAME)(QueuedListeners.prototype, 'queued', method);
    Injectable()(QueuedListeners);
    providers.push(QueuedListeners);
  }
  const app = await nestApp([EventsModule.forRoot(options)], providers);
  const bus = app.get(EventBus);
  if (c.isQueued) return { emit: () => bus.emit(EMIT_NAME, PAYLOAD), close: () => app.close() };
  if (c.isAsync) {
    return { emit: () => bus.emitAsync(EMIT_NAME, PAYLOAD), close: () => app.close() };
  }
  return { emit: () => bus.emit(EMIT_NAME, PAYLOAD), close: () => app.close() };
}

async function setupNestEventEmitter(c, wildcard) {
  if (c.needsWildcards && !wildcard) return { skip: 'wildcards off' };
  const Listeners = listenerClass('OrderListeners', c.patterns, c.isAsync, (p) => NestOnEvent(p));
  const app = await nestApp(
    [EventEmitterModule.forRoot({ wildcard, maxListeners: 0 })],
    [Listeners],
  );
  const emitter = app.get(NestEventEmitter2);
  if (c.isAsync) {
    return { emit: () => emitter.emitAsync(EMIT_NAME, PAYLOAD), close: () => app.close() };
  }
  return { emit: () => emitter.emit(EMIT_NAME, PAYLOAD), close: () => app.close() };
}
