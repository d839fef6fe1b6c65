import { describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../../lib/event/event-envelope.js';
import {
  deserializeEnvelope,
  MalformedJobError,
  serializeEnvelope,
} from '../../lib/event/event.serializer.js';
import { EventsError } from '../../lib/errors/events.error.js';
import {
  PayloadTooLargeError,
  UnserializablePayloadError,
} from '../../lib/errors/payload.error.js';

const MiB = 1024 * 1024;
const noClasses = (): undefined => undefined;

function envelope<T>(data: T, name = 'order.created'): EventEnvelope<T> {
  return {
    id: '01HZY3N2Q0ABCDEFGH00000001',
    name,
    data,
    metadata: { correlationId: 'c-1', causationId: 'e-0' },
    timestamp: 1_718_000_000_000,
  };
}

function roundTrip<T>(data: T): unknown {
  return deserializeEnvelope(serializeEnvelope(envelope(data), MiB), noClasses).data;
}

function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

class OrderShipped {
  static readonly eventName = 'order.shipped';
  constructor(
    readonly orderId: string,
    readonly items: { sku: string; quantity: number }[],
  ) {}

  get itemCount(): number {
    return this.items.reduce((sum, item) => sum + item.quantity, 0);
  }
}

describe('serializeEnvelope / deserializeEnvelope', () => {
  it('round-trips an envelope with a JSON payload', () => {
    const original = envelope({
      id: 'o1',
      total: 12.5,
      negative: -3,
      paid: false,
      note: null,
      lines: [{ sku: 'a', quantity: 2 }, []],
      text: 'naïve — 東京 😀 "quoted" \\ \n',
    });
    const json = serializeEnvelope(original, MiB);
    expect(typeof json).toBe('string');
    expect(deserializeEnvelope(json, noClasses)).toEqual(original);
  });

  it.each<[string, unknown]>([
    ['a string', 'hello'],
    ['a number', 42],
    ['zero', 0],
    ['a boolean', true],
    ['null', null],
    ['an array', [1, 'two', { three: 3 }]],
    ['an empty object', {}],
  ])('round-trips %s as data', (_label, data) => {
    expect(roundTrip(data)).toEqual(data);
  });

  it('round-trips an envelope without data', () => {
    const restored = deserializeEnvelope(serializeEnvelope(envelope(undefined), MiB), noClasses);
    expect(restored.data).toBeUndefined();
    expect(restored.name).toBe('order.created');
  });

  it('turns a Date into its ISO string, as JSON does', () => {
    expect(roundTrip({ at: new Date(0) })).toEqual({ at: '1970-01-01T00:00:00.000Z' });
  });

  describe('refuses what JSON cannot carry, naming the event', () => {
    const cyclic: Record<string, unknown> = { id: 'o1' };
    cyclic.self = cyclic;
    const deepCycle: { a: { b: { c?: unknown } } } = { a: { b: {} } };
    deepCycle.a.b.c = deepCycle.a;

    it.each<[string, unknown, RegExp]>([
      ['a cycle', cyclic, /circular/],
      ['a deep cycle', deepCycle, /circular/],
      ['a BigInt', { amount: 10n }, /BigInt at "amount"/],
      ['a BigInt as data', 10n, /BigInt/],
      ['a function', { callback: () => 1 }, /function at "callback"/],
      ['a symbol', { tag: Symbol('x') }, /symbol at "tag"/],
      ['a Map', { lookup: new Map([['a', 1]]) }, /Map at "lookup"/],
      ['a Set', { ids: new Set([1]) }, /Set at "ids"/],
      ['a WeakMap', { cache: new WeakMap() }, /"cache"/],
      ['a WeakSet', { seen: new WeakSet() }, /"seen"/],
      ['NaN', { total: Number.NaN }, /non-finite number \(NaN\) at "total"/],
      ['Infinity', { total: Number.POSITIVE_INFINITY }, /Infinity/],
      ['-Infinity in an array', { totals: [1, Number.NEGATIVE_INFINITY] }, /-Infinity/],
      ['a nested BigInt', { order: { lines: [{ price: 1n }] } }, /BigInt at "price"/],
      ['an Error', { error: new Error('boom') }, /an Error .* at "error"/],
      ['a Buffer', { file: Buffer.from('hi') }, /binary data .* at "file"/],
      ['a typed array', { samples: new Float64Array(2) }, /binary data .* at "samples"/],
      ['an ArrayBuffer', { raw: new ArrayBuffer(4) }, /binary data .* at "raw"/],
    ])('%s', (_label, data, reason) => {
      const error = thrownBy(() => serializeEnvelope(envelope(data, 'invoice.paid'), MiB));
      expect(error).toBeInstanceOf(UnserializablePayloadError);
      const typed = error as UnserializablePayloadError;
      expect(typed.code).toBe('EVENTS_UNSERIALIZABLE_PAYLOAD');
      expect(typed.eventName).toBe('invoice.paid');
      expect(typed.message).toContain('"invoice.paid"');
      expect(typed.message).toMatch(reason);
    });
  });

  describe('size limit', () => {
    function serializedBytes(data: unknown): number {
      return Buffer.byteLength(serializeEnvelope(envelope(data), MiB));
    }

    it.each([
      ['ASCII', 'a'],
      ['two-byte characters', 'é'],
      ['three-byte characters', '€'],
      ['four-byte characters (surrogate pairs)', '😀'],
    ])('accepts exactly maxBytes and refuses one byte less, with %s', (_label, unit) => {
      const data = { text: unit.repeat(1000) };
      const bytes = serializedBytes(data);
      expect(bytes).toBeGreaterThan(1000 * Buffer.byteLength(unit));
      expect(() => serializeEnvelope(envelope(data), bytes)).not.toThrow();
      const error = thrownBy(() => serializeEnvelope(envelope(data), bytes - 1));
      expect(error).toBeInstanceOf(PayloadTooLargeError);
      const typed = error as PayloadTooLargeError;
      expect(typed.code).toBe('EVENTS_PAYLOAD_TOO_LARGE');
      expect(typed.eventName).toBe('order.created');
      expect(typed.bytes).toBe(bytes);
      expect(typed.maxBytes).toBe(bytes - 1);
      expect(typed.message).toContain('maxPayloadBytes');
    });

    it('counts bytes, not characters: a payload short in characters can be too large', () => {
      const data = { text: '😀'.repeat(300) };
      const json = serializeEnvelope(envelope(data), MiB);
      const limit = json.length + 10; // enough characters, too few bytes
      expect(Buffer.byteLength(json)).toBeGreaterThan(limit);
      expect(() => serializeEnvelope(envelope(data), limit)).toThrow(PayloadTooLargeError);
    });
  });

  describe('malformed input', () => {
    const valid = JSON.parse(serializeEnvelope(envelope({ id: 'o1' }), MiB)) as Record<
      string,
      unknown
    >;
    const variant = (patch: Record<string, unknown>) => JSON.stringify({ ...valid, ...patch });

    it.each<[string, string]>([
      ['not JSON', 'not json'],
      ['truncated JSON', serializeEnvelope(envelope({ id: 'o1' }), MiB).slice(0, 30)],
      ['an empty string', ''],
      ['null', 'null'],
      ['a number', '42'],
      ['an array', '[]'],
      ['a missing id', variant({ id: undefined })],
      ['a numeric id', variant({ id: 7 })],
      ['a missing name', variant({ name: undefined })],
      ['a string timestamp', variant({ timestamp: '2024-06-10' })],
      ['missing metadata', variant({ metadata: undefined })],
      ['null metadata', variant({ metadata: null })],
      ['metadata as an array', variant({ metadata: ['c-1'] })],
      ['a non-string metadata value', variant({ metadata: { attempt: 2 } })],
    ])('%s throws MalformedJobError', (_label, json) => {
      const error = thrownBy(() => deserializeEnvelope(json, noClasses));
      expect(error).toBeInstanceOf(MalformedJobError);
      expect(error).toBeInstanceOf(EventsError);
      expect((error as MalformedJobError).code).toBe('EVENTS_MALFORMED_JOB');
    });
  });

  describe('__proto__ keys', () => {
    const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort();

    function assertUnpolluted(value: unknown): void {
      expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeBefore);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      if (value !== null && typeof value === 'object') {
        expect(Object.hasOwn(value, '__proto__')).toBe(false);
      }
    }

    function job(dataJson: string, extra = ''): string {
      return (
        `{"id":"e1","name":"order.created","data":${dataJson},` +
        `"metadata":{"correlationId":"c"},"timestamp":1${extra}}`
      );
    }

    it.each([
      ['a literal key', '{"__proto__":{"polluted":"yes"},"id":"o1"}'],
      ['a key with unicode escapes', '{"\\u005f_proto__":{"polluted":"yes"},"id":"o1"}'],
      [
        'a key with every letter escaped',
        '{"\\u005f\\u005fproto\\u005f\\u005f":{"polluted":1},"id":"o1"}',
      ],
      ['a nested key', '{"order":{"__proto__":{"polluted":"yes"}},"id":"o1"}'],
    ])('never reaches an object: %s', (_label, dataJson) => {
      const { data } = deserializeEnvelope(job(dataJson), noClasses) as EventEnvelope<
        Record<string, unknown>
      >;
      assertUnpolluted(data);
      expect(Object.getPrototypeOf(data)).toBe(Object.prototype);
      expect(data.id).toBe('o1');
      expect(data.polluted).toBeUndefined();
      if (data.order) assertUnpolluted(data.order);
      // What a listener might do next must stay safe too.
      const copy = Object.assign({}, data);
      expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
      expect((copy as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('never reaches metadata', () => {
      const json =
        '{"id":"e1","name":"n","data":null,"timestamp":1,' +
        '"metadata":{"\\u005f_proto__":{"polluted":"yes"},"tenant":"t1"}}';
      const { metadata } = deserializeEnvelope(json, noClasses);
      assertUnpolluted(metadata);
      expect(metadata).toEqual({ tenant: 't1' });
    });

    it('never replaces the prototype of a rehydrated class event', () => {
      const json =
        '{"id":"e1","name":"order.shipped","isClass":1,"metadata":{},"timestamp":1,' +
        '"data":{"orderId":"o1","items":[],"\\u005f_proto__":{"polluted":"yes","itemCount":99}}}';
      const { data } = deserializeEnvelope(json, () => OrderShipped);
      assertUnpolluted(data);
      expect(data).toBeInstanceOf(OrderShipped);
      expect(Object.getPrototypeOf(data)).toBe(OrderShipped.prototype);
      expect((data as OrderShipped).itemCount).toBe(0);
    });

    it('drops an own __proto__ key of an emitted payload on the way back', () => {
      const payload = JSON.parse('{"__proto__":{"polluted":"yes"},"id":"o1"}') as object;
      const data = roundTrip(payload);
      assertUnpolluted(data);
      expect(data).toEqual({ id: 'o1' });
    });
  });

  describe('class events', () => {
    it('rehydrates an instance of the event class, with its fields and prototype', () => {
      const event = new OrderShipped('o1', [
        { sku: 'a', quantity: 2 },
        { sku: 'b', quantity: 3 },
      ]);
      const json = serializeEnvelope(envelope(event, 'order.shipped'), MiB);
      const asked: string[] = [];
      const restored = deserializeEnvelope(json, (name) => {
        asked.push(name);
        return name === 'order.shipped' ? OrderShipped : undefined;
      });
      expect(asked).toEqual(['order.shipped']);
      expect(restored.data).toBeInstanceOf(OrderShipped);
      const data = restored.data as OrderShipped;
      expect(data.orderId).toBe('o1');
      expect(data.itemCount).toBe(5);
    });

    it('leaves the data plain when no class is known for the name', () => {
      const json = serializeEnvelope(envelope(new OrderShipped('o1', []), 'order.shipped'), MiB);
      const restored = deserializeEnvelope(json, noClasses);
      expect(restored.data).not.toBeInstanceOf(OrderShipped);
      expect(restored.data).toEqual({ orderId: 'o1', items: [] });
    });

    it('does not rehydrate plain data, even when a class has the same name', () => {
      for (const data of [{ orderId: 'o1', items: [] }, [1, 2], 'text']) {
        const json = serializeEnvelope(envelope(data, 'order.shipped'), MiB);
        const restored = deserializeEnvelope(json, () => OrderShipped);
        expect(restored.data).not.toBeInstanceOf(OrderShipped);
        expect(restored.data).toEqual(data);
      }
    });

    it('does not take a null-prototype object for a class instance', () => {
      const data = Object.assign(Object.create(null) as object, { orderId: 'o1' });
      const json = serializeEnvelope(envelope(data, 'order.shipped'), MiB);
      const restored = deserializeEnvelope(json, () => OrderShipped);
      expect(restored.data).not.toBeInstanceOf(OrderShipped);
      expect(restored.data).toEqual({ orderId: 'o1' });
    });
  });
});
