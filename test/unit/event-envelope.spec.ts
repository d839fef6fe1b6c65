import { describe, expect, it } from 'vitest';
import { EventContext } from '../../lib/event/event-context.js';
import { createEnvelope } from '../../lib/bus/event-envelope.factory.js';

describe('createEnvelope', () => {
  it('builds a plain object with exactly the five fields, in order', () => {
    const envelope = createEnvelope('order.created', { id: 'o1' }, undefined);
    expect(Object.getPrototypeOf(envelope)).toBe(Object.prototype);
    expect(Object.keys(envelope)).toEqual(['id', 'name', 'data', 'metadata', 'timestamp']);
    for (const key of Object.keys(envelope)) {
      expect(Object.getOwnPropertyDescriptor(envelope, key)).toMatchObject({
        enumerable: true,
        writable: true,
      });
    }
    expect(envelope.metadata).toEqual({ correlationId: envelope.id });
    expect(Number.isInteger(envelope.timestamp)).toBe(true);
  });

  it('survives JSON and spreads unchanged', () => {
    const envelope = createEnvelope('order.created', { id: 'o1', n: 2 }, { id: 'fixed-id' });
    expect(JSON.parse(JSON.stringify(envelope))).toEqual(envelope);
    expect({ ...envelope }).toEqual(envelope);
    expect(JSON.stringify(envelope)).toBe(
      JSON.stringify({
        id: 'fixed-id',
        name: 'order.created',
        data: { id: 'o1', n: 2 },
        metadata: { correlationId: 'fixed-id' },
        timestamp: envelope.timestamp,
      }),
    );
  });

  it('takes its time and a fresh, growing id at creation', () => {
    const before = Date.now();
    const first = createEnvelope('a.b', 1, undefined);
    const second = createEnvelope('a.b', 1, undefined);
    expect(first.timestamp).toBeGreaterThanOrEqual(before);
    expect(first.timestamp).toBeLessThanOrEqual(Date.now());
    expect(second.id > first.id).toBe(true);
    expect(second.metadata).not.toBe(first.metadata);
  });

  it('inherits metadata, correlation and causation from the event being handled', () => {
    const parent = createEnvelope('a.parent', {}, { metadata: { correlationId: 'c1' } });
    const child = EventContext.runAs(parent, () =>
      EventContext.run({ tenantId: 't' }, () => createEnvelope('a.child', {}, undefined)),
    );
    expect(child.metadata).toEqual({ correlationId: 'c1', causationId: parent.id, tenantId: 't' });
  });

  it("copies a parent's metadata without an own __proto__ key (a parsed job's metadata)", () => {
    const parent = createEnvelope('a.parent', {}, undefined);
    const parsed = JSON.parse(
      `{"correlationId":"c1","__proto__":{"polluted":"yes"},"tenantId":"t"}`,
    ) as Record<string, string>;
    const child = EventContext.runAs({ ...parent, metadata: parsed }, () =>
      createEnvelope('a.child', {}, undefined),
    );
    expect(Object.getPrototypeOf(child.metadata)).toBe(Object.prototype);
    expect(Object.keys(child.metadata)).toEqual(['correlationId', 'tenantId', 'causationId']);
    expect(child.metadata).toEqual({ correlationId: 'c1', tenantId: 't', causationId: parent.id });
  });

  it('refuses bad options and payloads before it returns', () => {
    expect(() => createEnvelope('a.b', {}, { delay: -1 })).toThrow(/delay/);
    expect(() => createEnvelope('a.b', { f: () => 1 }, undefined)).toThrow(/function/);
    expect(() =>
      createEnvelope('a.b', {}, { metadata: { n: 1 } as unknown as Record<string, string> }),
    ).toThrow(/metadata\.n/);
    expect(createEnvelope('a.b', { f: () => 1 }, { inProcessOnly: true }).name).toBe('a.b');
  });
});
