import { Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  DuplicateListenerError,
  EVENTS_OPTIONS,
  EventBus,
  EventsModule,
  InvalidOptionError,
  InvalidPatternError,
  OnEvent,
  ShouldQueue,
  UnsupportedListenerError,
  type EventEnvelope,
  type ResolvedEventsOptions,
} from 'nestjs-events';
import { ListenerExplorer } from '../../lib/discovery/listener.explorer.js';
import { createTestApp } from '../support/create-test-app.js';
import {
  BootListenersModule,
  EarlyEmitterModule,
  OrderListeners,
  Recorder,
  ScopedListener,
} from '../fixtures/bus-listeners.js';

describe('EventsModule', () => {
  let app: INestApplicationContext | undefined;

  afterEach(async () => {
    vi.unstubAllEnvs();
    await app?.close();
    app = undefined;
  });

  it('delivers events emitted from a constructor and from onModuleInit of another module', async () => {
    @Module({
      imports: [BootListenersModule, EarlyEmitterModule],
      providers: [Recorder],
      exports: [Recorder],
    })
    class RecorderHostModule {}
    // Recorder must be reachable from BootListenersModule: make it global through a wrapper.
    const moduleRef = await Test.createTestingModule({
      imports: [EventsModule.forRoot(), { module: RecorderHostModule, global: true }],
    }).compile();
    app = await moduleRef.init();
    const recorder = app.get(Recorder);
    expect(
      recorder.seen.map((s) => [s.event.name, (s.event.data as { from: string }).from]),
    ).toEqual([
      ['boot.constructed', 'constructor'],
      ['boot.initialised', 'onModuleInit'],
    ]);
  });

  it('delivers an event emitted from a factory provider before bootstrap', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [EventsModule.forRoot()],
      providers: [
        Recorder,
        OrderListeners,
        {
          provide: 'EARLY',
          useFactory: (bus: EventBus) => {
            void bus.emit('order.created', { id: 'from-factory' });
            return true;
          },
          inject: [EventBus],
        },
      ],
    }).compile();
    app = await moduleRef.init();
    expect(app.get(Recorder).names('onCreated')).toEqual(['onCreated:order.created']);
  });

  it('delivers events of an emitMany from a factory provider before bootstrap, in order', async () => {
    let early: Promise<EventEnvelope[]> | undefined;
    const moduleRef = await Test.createTestingModule({
      imports: [EventsModule.forRoot()],
      providers: [
        Recorder,
        OrderListeners,
        {
          provide: 'EARLY',
          useFactory: (bus: EventBus) => {
            early = bus.emitMany([
              { name: 'order.created', data: { id: 'a' } },
              { name: 'order.created', data: { id: 'b' } },
            ]);
            return true;
          },
          inject: [EventBus],
        },
      ],
    }).compile();
    app = await moduleRef.init();
    const envelopes = await early!;
    const calls = app.get(Recorder).seen.filter((s) => s.listener === 'onCreated');
    expect(calls.map((c) => c.event.id)).toEqual(envelopes.map((e) => e.id));
  });

  it('finds listeners on useFactory and useValue providers', async () => {
    const seen: string[] = [];
    class ValueListener {
      @OnEvent('value.event')
      on(event: EventEnvelope) {
        seen.push(`value:${event.name}`);
      }
    }
    class FactoryListener {
      @OnEvent('factory.event')
      on(event: EventEnvelope) {
        seen.push(`factory:${event.name}`);
      }
    }
    app = await createTestApp({
      providers: [
        { provide: 'VALUE', useValue: new ValueListener() },
        { provide: 'FACTORY', useFactory: () => new FactoryListener() },
      ],
    });
    const bus = app.get(EventBus);
    await bus.emit('value.event');
    await bus.emit('factory.event');
    expect(seen).toEqual(['value:value.event', 'factory:factory.event']);
  });

  it('resolves request-scoped listeners per event, with the event as the request', async () => {
    app = await createTestApp({ providers: [Recorder, ScopedListener] });
    const bus = app.get(EventBus);
    await bus.emitAsync('scoped.ping', { n: 1 });
    await bus.emitAsync('scoped.ping', { n: 2 });
    const recorder = app.get(Recorder);
    expect(recorder.names()).toEqual([
      'scoped:request=event:scoped.ping',
      'scoped:request=event:scoped.ping',
    ]);
    expect(recorder.instances.size).toBe(2);
  });

  it('binds listeners once when init hooks run twice (a microservice init() then listen())', async () => {
    app = await createTestApp({ providers: [Recorder, OrderListeners] });
    await app.get(ListenerExplorer).onModuleInit();
    await app.get(EventBus).emit('order.created', { id: 'twice' });
    expect(app.get(Recorder).names('onCreated')).toEqual(['onCreated:order.created']);
  });

  it('fails the boot when two listeners share an id', async () => {
    @Injectable()
    class A {
      @OnEvent('x.y', { id: 'same' })
      a() {}
    }
    @Injectable()
    class B {
      @OnEvent('x.z', { id: 'same' })
      b() {}
    }
    await expect(createTestApp({ providers: [A, B] })).rejects.toBeInstanceOf(
      DuplicateListenerError,
    );
  });

  it('fails the boot on @ShouldQueue without @OnEvent', async () => {
    @Injectable()
    class Orphan {
      @ShouldQueue()
      handle() {}
    }
    await expect(createTestApp({ providers: [Orphan] })).rejects.toThrow(UnsupportedListenerError);
  });

  it('refuses invalid or duplicate patterns when the class is defined', () => {
    expect(() => {
      class Bad {
        @OnEvent('order..created')
        on() {}
      }
      return Bad;
    }).toThrow(InvalidPatternError);
    expect(() => {
      class Twice {
        @OnEvent(['a.b', 'a.b'])
        on() {}
      }
      return Twice;
    }).toThrow(/listed twice/);
    expect(() => {
      class Mixed {
        @OnEvent('order.cre*')
        on() {}
      }
      return Mixed;
    }).toThrow(/mixes "\*"/);
  });

  it('fails the boot on a wrong option, naming it and what is allowed', async () => {
    await expect(createTestApp({}, { prefix: 'has space' })).rejects.toThrow(
      /Invalid option "prefix": expected a non-empty string/,
    );
    await expect(createTestApp({}, { worker: { concurrency: 0 } })).rejects.toThrow(
      InvalidOptionError,
    );
    await expect(createTestApp({}, { unknown: 1 } as never)).rejects.toThrow(
      /no such option \(allowed: redis, prefix/,
    );
  });

  it('reads EVENTS_* variables, and explicit options win', async () => {
    vi.stubEnv('EVENTS_PREFIX', 'from-env');
    vi.stubEnv('EVENTS_DEFAULT_QUEUE', 'env-queue');
    vi.stubEnv('EVENTS_RETRY_ATTEMPTS', '4');
    vi.stubEnv('EVENTS_RETRY_DELAY_MS', '250');
    app = await createTestApp({}, { prefix: 'explicit' });
    const options = app.get<ResolvedEventsOptions>(EVENTS_OPTIONS);
    expect(options.prefix).toBe('explicit');
    expect(options.defaults).toMatchObject({ queue: 'env-queue', tries: 4, backoff: 250 });
  });

  it('fails the boot on a malformed variable, naming it', async () => {
    vi.stubEnv('EVENTS_RETRY_ATTEMPTS', 'many');
    await expect(createTestApp({})).rejects.toThrow(/EVENTS_RETRY_ATTEMPTS/);
  });

  it('supports forRootAsync with imports, inject and useFactory', async () => {
    const CONFIG = Symbol('CONFIG');
    @Module({
      providers: [{ provide: CONFIG, useValue: { prefix: 'async-prefix' } }],
      exports: [CONFIG],
    })
    class ConfigModule {}
    const moduleRef = await Test.createTestingModule({
      imports: [
        EventsModule.forRootAsync({
          imports: [ConfigModule],
          inject: [CONFIG],
          useFactory: (config: { prefix: string }) => ({ prefix: config.prefix }),
        }),
      ],
      providers: [Recorder, OrderListeners],
    }).compile();
    app = await moduleRef.init();
    expect(app.get<ResolvedEventsOptions>(EVENTS_OPTIONS).prefix).toBe('async-prefix');
    await app.get(EventBus).emit('order.created', { id: 'a1' });
    expect(app.get(Recorder).names('onCreated')).toHaveLength(1);
  });

  it('is global by default, and can be imported locally with isGlobal: false', async () => {
    @Injectable()
    class Needs {
      constructor(readonly bus: EventBus) {}
    }
    @Module({ providers: [Needs] })
    class Feature {}
    const globalRef = await Test.createTestingModule({
      imports: [EventsModule.forRoot(), Feature],
    }).compile();
    app = await globalRef.init();
    expect(app.get(Needs).bus).toBeInstanceOf(EventBus);
    await app.close();
    await expect(
      Test.createTestingModule({
        imports: [EventsModule.forRoot({ isGlobal: false }), Feature],
      }).compile(),
    ).rejects.toThrow(/EventBus/);
    app = undefined;
  });
});
