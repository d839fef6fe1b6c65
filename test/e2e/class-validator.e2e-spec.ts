import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { IsEmail, IsString, Length, Min, ValidateNested } from 'class-validator';
import { afterEach, describe, expect, it } from 'vitest';
import {
  EventBus,
  EventName,
  EventQueues,
  EventValidationError,
  OnEvent,
  ShouldQueue,
  type EventEnvelope,
} from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';

class Address {
  @IsString()
  @Length(5, 5)
  readonly zip: string;

  constructor(zip: string) {
    this.zip = zip;
  }
}

/** An event class validated by real class-validator decorators, nested ones included. */
@EventName('customer.registered')
class CustomerRegistered {
  @IsEmail()
  readonly email: string;

  @Min(18)
  readonly age: number;

  @ValidateNested()
  readonly address: Address;

  constructor(email: string, age: number, address: Address) {
    this.email = email;
    this.age = age;
    this.address = address;
  }
}

@Injectable()
class CustomerListeners {
  readonly seen: string[] = [];

  @OnEvent(CustomerRegistered)
  greet(event: EventEnvelope<CustomerRegistered>) {
    this.seen.push(`greet ${event.data.email}`);
  }

  @OnEvent(CustomerRegistered)
  @ShouldQueue({ queue: 'customers' })
  welcomeMail(event: EventEnvelope<CustomerRegistered>) {
    this.seen.push(`mail ${event.data.email}`);
  }

  @OnEvent(CustomerRegistered, { priority: -1 })
  answer(event: EventEnvelope<CustomerRegistered>) {
    return `answered ${event.data.email}`;
  }
}

const invalid = () => new CustomerRegistered('not-an-email', 17, new Address('123'));
const valid = () => new CustomerRegistered('ada@example.com', 36, new Address('75001'));

describe('Emit-side validation with class-validator (a real app)', () => {
  let app: INestApplicationContext | undefined;

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function start() {
    app = await createTestApp({ providers: [CustomerListeners] });
    return {
      bus: app.get(EventBus),
      listeners: app.get(CustomerListeners),
      queues: app.get(EventQueues),
    };
  }

  it('refuses an invalid class event at emit with every violation, nested paths joined with dots', async () => {
    const { bus, listeners, queues } = await start();
    const error = await bus.emit(invalid()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventValidationError);
    const refused = error as EventValidationError;
    expect(refused.code).toBe('EVENTS_INVALID_PAYLOAD');
    expect(refused.eventName).toBe('customer.registered');
    expect(refused.violations.map((v) => v.path).sort()).toEqual(['address.zip', 'age', 'email']);
    expect(refused.violations.find((v) => v.path === 'email')?.message).toMatch(/email/);
    expect(refused.violations.find((v) => v.path === 'age')?.message).toMatch(/18/);
    // Refused before anything ran or was stored.
    expect(listeners.seen).toEqual([]);
    expect(await queues.counts('customers')).toMatchObject({
      waiting: 0,
      delayed: 0,
      active: 0,
      completed: 0,
    });
  });

  it('refuses it in emitAsync and until as well, and lets a valid one through', async () => {
    const { bus, listeners } = await start();
    await expect(bus.emitAsync(invalid())).rejects.toBeInstanceOf(EventValidationError);
    await expect(bus.until(invalid())).rejects.toBeInstanceOf(EventValidationError);
    expect(listeners.seen).toEqual([]);

    await expect(bus.until(valid())).resolves.toBe('answered ada@example.com');
    await bus.emit(valid());
    expect(listeners.seen).toContain('greet ada@example.com');
  });
});
