import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import {
  EventBus,
  EventQueues,
  InvalidOptionError,
  OnEvent,
  ShouldQueue,
  type EventEnvelope,
  type ListenerContext,
} from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { waitFor } from '../support/wait-for.js';
import { QueueProbe } from '../fixtures/queue-probe.js';

class UrgentShipped {
  static readonly eventName = 'shipment.urgent';
  static readonly priority = 6;
  constructor(readonly tag: string) {}
}

class PlainShipped {
  static readonly eventName = 'shipment.plain';
  constructor(readonly tag: string) {}
}

class BadlyRanked {
  static readonly eventName = 'shipment.bad';
  static readonly priority = 20;
  constructor(readonly tag: string) {}
}

@Injectable()
class ShipmentListeners {
  constructor(private readonly probe: QueueProbe) {}

  @OnEvent(['shipment.named', UrgentShipped, PlainShipped, BadlyRanked])
  @ShouldQueue({ queue: 'shipments', priority: 2 })
  ship(event: EventEnvelope, context: ListenerContext) {
    return this.probe.run('ship', event, context);
  }
}

describe('queue priorities through Nest (embedded transport)', () => {
  let app: INestApplicationContext | undefined;

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function start() {
    app = await createTestApp({ providers: [QueueProbe, ShipmentListeners] });
    return { bus: app.get(EventBus), probe: app.get(QueueProbe), queues: app.get(EventQueues) };
  }

  it('takes the emit option over the class priority over @ShouldQueue', async () => {
    const { bus, probe, queues } = await start();
    await queues.pause('shipments');
    await bus.emit('shipment.named', { tag: 'listener-2' });
    await bus.emit('shipment.named', { tag: 'option-1' }, { priority: 1 });
    await bus.emit(new UrgentShipped('class-6'));
    await bus.emit(new UrgentShipped('option-minus-4'), { priority: -4 });
    await bus.emit(new PlainShipped('plain-listener-2'));
    await bus.emitMany([
      { event: new UrgentShipped('many-class-6') },
      { name: 'shipment.named', data: { tag: 'many-option-9' }, options: { priority: 9 } },
    ]);
    await queues.resume('shipments');
    await waitFor(() => probe.callsOf('ship').length === 7);
    expect(probe.callsOf('ship').map((c) => (c.event.data as { tag: string }).tag)).toEqual([
      'many-option-9',
      'class-6',
      'many-class-6',
      'listener-2',
      'plain-listener-2',
      'option-1',
      'option-minus-4',
    ]);
  });

  it('refuses a priority out of range or not an integer at emit, storing nothing', async () => {
    const { bus, queues } = await start();
    await queues.pause('shipments');
    for (const priority of [11, -11, 2.5, '3', Number.NaN]) {
      await expect(
        bus.emit('shipment.named', { tag: 'x' }, { priority: priority as number }),
      ).rejects.toMatchObject({ name: 'InvalidOptionError', option: 'priority' });
    }
    const refused = bus.emit(new BadlyRanked('x'));
    await expect(refused).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(refused).rejects.toThrow(/static priority of event class BadlyRanked/);
    await expect(
      bus.emitMany([{ event: new BadlyRanked('y') }, { name: 'shipment.named', data: {} }]),
    ).rejects.toBeInstanceOf(InvalidOptionError);
    expect(await queues.counts('shipments')).toMatchObject({ waiting: 0, delayed: 0 });
  });

  it('refuses a bad priority or priorityAgingMs when @ShouldQueue is applied', () => {
    const decorate = (options: object) => {
      class Listener {
        handle() {}
      }
      const descriptor = Object.getOwnPropertyDescriptor(Listener.prototype, 'handle')!;
      ShouldQueue(options)(Listener.prototype, 'handle', descriptor);
    };
    expect(() => decorate({ priority: 11 })).toThrow(InvalidOptionError);
    expect(() => decorate({ priority: 1.5 })).toThrow(/@ShouldQueue priority on Listener.handle/);
    expect(() => decorate({ priority: '1' })).toThrow(InvalidOptionError);
    expect(() => decorate({ priorityAgingMs: 0 })).toThrow(/priorityAgingMs/);
    expect(() => decorate({ priority: -10, priorityAgingMs: 1000 })).not.toThrow();
  });
});

class TenantOrder {
  static readonly eventName = 'tenant.order';
  static readonly priority = 3;
  constructor(readonly tenant: string) {}
}

@Injectable()
class TenantListeners {
  readonly heard: string[] = [];

  @OnEvent(['tenant.mail', TenantOrder])
  @ShouldQueue({ queue: 'tenants', group: (e: EventEnvelope<{ tenant: string }>) => e.data.tenant })
  mail() {}

  @OnEvent('tenant.mail')
  hear(event: EventEnvelope<{ tenant: string }>) {
    this.heard.push(event.data.tenant);
  }
}

@Injectable()
class RankedOnTenants {
  @OnEvent('tenant.mail')
  @ShouldQueue({ queue: 'tenants', priorityAgingMs: 1000 })
  rank() {}
}

@Injectable()
class GroupedOnShipments {
  @OnEvent('shipment.named')
  @ShouldQueue({ queue: 'shipments', group: 'tenantId' })
  grouped() {}
}

describe('a queue is grouped or prioritized, never both', () => {
  let app: INestApplicationContext | undefined;

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('fails the boot naming both listeners and the queue, whichever comes first', async () => {
    const boots = [
      [TenantListeners, RankedOnTenants],
      [QueueProbe, ShipmentListeners, GroupedOnShipments],
    ];
    const messages: string[] = [];
    for (const providers of boots) {
      const booted = createTestApp({ providers });
      await expect(booted).rejects.toBeInstanceOf(InvalidOptionError);
      messages.push(String(((await booted.catch((e: unknown) => e)) as Error).message));
    }
    expect(messages[0]).toMatch(/RankedOnTenants\.rank.*TenantListeners\.mail.*"tenants"/);
    expect(messages[1]).toMatch(
      /ShipmentListeners\.ship.*GroupedOnShipments\.grouped.*"shipments"/,
    );
  });

  it('refuses a priority (option or class) for a grouped queue at emit, storing nothing', async () => {
    app = await createTestApp({ providers: [TenantListeners] });
    const bus = app.get(EventBus);
    const queues = app.get(EventQueues);
    await queues.pause('tenants');
    const refused = bus.emit('tenant.mail', { tenant: 'acme' }, { priority: 2 });
    await expect(refused).rejects.toMatchObject({ name: 'InvalidOptionError', option: 'priority' });
    await expect(refused).rejects.toThrow(/TenantListeners\.mail.*"tenants".*groups/);
    await expect(bus.emit(new TenantOrder('acme'))).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(
      bus.emitMany([
        { name: 'tenant.mail', data: { tenant: 'globex' } },
        { name: 'tenant.mail', data: { tenant: 'acme' }, options: { priority: -1 } },
      ]),
    ).rejects.toBeInstanceOf(InvalidOptionError);
    expect(await queues.counts('tenants')).toMatchObject({ waiting: 0, delayed: 0 });
    expect(app.get(TenantListeners).heard).toEqual([]);
    // Without a priority, the same emits go through.
    await bus.emit('tenant.mail', { tenant: 'acme' });
    expect(await queues.counts('tenants')).toMatchObject({ waiting: 1 });
    expect(app.get(TenantListeners).heard).toEqual(['acme']);
    await queues.resume('tenants');
    await waitFor(async () => (await queues.counts('tenants')).completed === 1);
  });
});
