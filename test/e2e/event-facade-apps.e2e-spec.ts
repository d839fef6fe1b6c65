import type { INestApplicationContext } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { EventFacade, EventFacadeUsageError, EventsError } from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import {
  FacadeAuditListener,
  FacadeBootAnnouncer,
  FacadeOrderListeners,
  FacadeOrdersService,
  FacadeSilentService,
  facadeProviders,
} from '../fixtures/facade.fixtures.js';

function usageError(fn: () => void): EventFacadeUsageError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(EventFacadeUsageError);
    expect(error).toBeInstanceOf(EventsError);
    return error as EventFacadeUsageError;
  }
  throw new Error('expected a usage error');
}

describe('EventFacade: binding to applications', () => {
  const apps: INestApplicationContext[] = [];

  async function start(providers: unknown[] = facadeProviders) {
    const app = await createTestApp({ providers: providers as never[] }, { worker: false });
    apps.push(app);
    return app;
  }

  afterEach(async () => {
    EventFacade.restore();
    for (const app of apps.splice(0).reverse()) await app.close();
  });

  it('explains what to do when an assertion runs before fake()', () => {
    const error = usageError(() => EventFacade.assertDispatched('order.created'));
    expect(error.code).toBe('EVENTS_FACADE_NOT_FAKED');
    expect(error.message).toContain(
      'EventFacade.assertDispatched() was called before EventFacade.fake() (or after restore())',
    );
    expect(error.message).toContain('Call EventFacade.fake()');
    for (const call of [
      () => EventFacade.assertDispatchedTimes('a.b', 1),
      () => EventFacade.assertNotDispatched('a.b'),
      () => EventFacade.assertNothingDispatched(),
      () => EventFacade.dispatched('a.b'),
    ]) {
      expect(usageError(call).code).toBe('EVENTS_FACADE_NOT_FAKED');
    }
  });

  it('explains that no application runs', () => {
    EventFacade.fake();
    const error = usageError(() => EventFacade.assertNothingDispatched());
    expect(error.code).toBe('EVENTS_FACADE_NO_APPLICATION');
    expect(error.message).toContain('no application to fake');
    expect(error.message).toContain('await app.init()');
    expect(error.message).toContain('EventFacade.fake(app)');
    EventFacade.restore();
    const listening = usageError(() =>
      EventFacade.assertListening('order.created', FacadeOrderListeners),
    );
    expect(listening.code).toBe('EVENTS_FACADE_NO_APPLICATION');
  });

  it('refuses fake(app) for an application without EventsModule', async () => {
    const bare = await Test.createTestingModule({ providers: [FacadeSilentService] }).compile();
    const error = usageError(() => EventFacade.fake(bare));
    expect(error.code).toBe('EVENTS_FACADE_NO_APPLICATION');
    expect(error.message).toContain('this application has no EventsModule');
    await bare.close();
  });

  it('fake() before any application starts fakes the next one, bootstrap events included', async () => {
    EventFacade.fake();
    const app = await start([...facadeProviders, FacadeBootAnnouncer]);
    EventFacade.assertDispatched('app.booted', (e) => e.data.by === 'announcer');
    expect(app.get(FacadeAuditListener).seen).toEqual([]);
  });

  it('acts on the application that started last, or on the one passed to fake()', async () => {
    const first = await start();
    const second = await start();
    const firstListeners = first.get(FacadeOrderListeners);
    const secondListeners = second.get(FacadeOrderListeners);

    EventFacade.fake();
    await first.get(FacadeOrdersService).place('a1');
    await second.get(FacadeOrdersService).place('b1');
    expect(firstListeners.names('onCreated')).toEqual(['order.created']);
    expect(secondListeners.names('onCreated')).toEqual([]);
    expect(EventFacade.dispatched('order.created').map((e) => e.data.id)).toEqual(['b1']);

    EventFacade.fake(first);
    await first.get(FacadeOrdersService).place('a2');
    await second.get(FacadeOrdersService).place('b2');
    expect(firstListeners.names('onCreated')).toHaveLength(1);
    expect(secondListeners.names('onCreated')).toHaveLength(1);
    EventFacade.assertDispatchedTimes('order.created', 1);
    EventFacade.assertDispatched('order.created', (e) => e.data.id === 'a2');
    EventFacade.assertNotDispatched('order.created', (e) => e.data.id === 'b2');
  });

  it('binds through a ModuleRef and with a partial list', async () => {
    const first = await start();
    const second = await start();
    EventFacade.fake(['order.created'], first.get(ModuleRef));
    await first.get(FacadeOrdersService).place('a1');
    await first.get(FacadeOrdersService).pay('a1');
    await second.get(FacadeOrdersService).place('b1');
    expect(first.get(FacadeOrderListeners).names('onCreated')).toEqual([]);
    expect(first.get(FacadeOrderListeners).names('onPaid')).toEqual(['order.paid']);
    expect(second.get(FacadeOrderListeners).names('onCreated')).toEqual(['order.created']);
    expect(
      EventFacade.dispatched().map((e) => `${e.name}:${(e.data as { id: string }).id}`),
    ).toEqual(['order.created:a1', 'order.paid:a1']);
  });

  it('falls back to the earlier application once the later one shut down', async () => {
    const first = await start();
    const second = await start();
    await second.close();
    apps.pop();
    EventFacade.fake();
    await first.get(FacadeOrdersService).place('a1');
    expect(first.get(FacadeOrderListeners).names('onCreated')).toEqual([]);
    EventFacade.assertDispatchedTimes('order.created', 1);
  });

  it('an explicitly bound fake does not move to an application started later', async () => {
    const first = await start();
    EventFacade.fake(first);
    const second = await start();
    await second.get(FacadeOrdersService).place('b1');
    expect(second.get(FacadeOrderListeners).names('onCreated')).toEqual(['order.created']);
    EventFacade.assertNothingDispatched();
    EventFacade.assertListening('order.created', FacadeOrderListeners, 'onCreated');
  });
});
