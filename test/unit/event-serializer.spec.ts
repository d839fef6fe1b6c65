import { describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../../lib/event/event-envelope.js';
import {
  assertSerializable,
  deserializeEnvelope,
  eventNameOfPayload,
  MalformedJobError,
  PAYLOAD_FORMAT,
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
  it("reads a queued attempt's envelope with its attempt number, versioned or not", () => {
    const plain = serializeEnvelope(envelope({ n: 1 }), MiB);
    expect(deserializeEnvelope(plain, noClasses, 3)).toEqual({ ...envelope({ n: 1 }), attempt: 3 });
    const versioned = serializeEnvelope({ ...envelope({ n: 1 }), version: 2 }, MiB);
    expect(deserializeEnvelope(versioned, noClasses, 2)).toEqual({
      ...envelope({ n: 1 }),
      version: 2,
      attempt: 2,
    });
    expect(deserializeEnvelope(versioned, noClasses)).not.toHaveProperty('attempt');
  });

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

  it('marks the format in the first field', () => {
    expect(serializeEnvelope(envelope({ id: 'o1' }), MiB)).toMatch(/^\{"v":2,"id":/);
    expect(PAYLOAD_FORMAT).toBe(2);
  });

  it('writes plain JSON data as plain JSON (readable in the store), the rest with devalue', () => {
    const plain = { id: 'o1', lines: [{ sku: 'a', quantity: 2 }], note: null, paid: true };
    const wire = (data: unknown) =>
      JSON.parse(serializeEnvelope(envelope(data), MiB)) as Record<string, unknown>;
    expect(wire(plain).data).toEqual(plain);
    expect(wire(plain).dv).toBeUndefined();
    const shared = { sku: 'a' };
    for (const data of [
      { at: new Date(0) },
      { note: undefined },
      [1, undefined],
      { n: Number.NaN },
      { n: -0 },
      { n: 1n },
      { a: shared, b: shared },
      { nested: Object.create(null) as object },
      undefined,
    ]) {
      expect(wire(data).data).toBeUndefined();
      expect(wire(data).dv).toBeDefined();
    }
  });

  describe('carries the types an in-process listener gets', () => {
    const shared = { sku: 'a' };
    it.each<[string, unknown]>([
      ['a Date', { at: new Date(Date.UTC(2024, 5, 10, 12, 30)) }],
      ['an invalid Date', { at: new Date(Number.NaN) }],
      ['a BigInt', { amount: 12345678901234567890n }],
      ['a BigInt as data', 10n],
      [
        'a Map',
        {
          lookup: new Map<unknown, unknown>([
            ['a', 1],
            [2, { b: new Date(0) }],
          ]),
        },
      ],
      ['a Set', { ids: new Set([1, 'two', 3n]) }],
      ['an undefined field', { id: 'o1', note: undefined }],
      ['undefined in an array', [1, undefined, 3]],
      ['a Float64Array', { samples: new Float64Array([1.5, -2, Number.NaN]) }],
      ['a Uint8Array', { bytes: new Uint8Array([0, 255, 7]) }],
      ['a BigInt64Array', { big: new BigInt64Array([-1n, 2n]) }],
      ['an ArrayBuffer', { raw: new Uint8Array([1, 2, 3]).buffer }],
      ['NaN, Infinity and -0', { a: Number.NaN, b: Number.POSITIVE_INFINITY, c: -0 }],
      ['a RegExp', { pattern: /ab+c/gi }],
      ['a URL', { link: new URL('https://example.test/a?b=1') }],
      ['a shared reference', { a: shared, b: shared }],
      ['a null-prototype object', Object.assign(Object.create(null) as object, { id: 'o1' })],
    ])('%s', (_label, data) => {
      expect(roundTrip(data)).toStrictEqual(data);
    });

    it('keeps a Buffer a Buffer, and a typed array view its own bytes only', () => {
      const pooled = Buffer.from('hello');
      const view = new Uint16Array(new Uint16Array([1, 2, 3, 4]).buffer, 2, 2);
      const back = roundTrip({ file: pooled, view }) as { file: Buffer; view: Uint16Array };
      expect(Buffer.isBuffer(back.file)).toBe(true);
      expect(back.file.toString()).toBe('hello');
      expect(back.view).toBeInstanceOf(Uint16Array);
      expect([...back.view]).toEqual([2, 3]);
    });

    it('carries instances of other classes as JSON did: toJSON(), or their own fields', () => {
      class Money {
        constructor(readonly cents: number) {}
        format(): string {
          return `${this.cents / 100} EUR`;
        }
      }
      class ObjectIdLike {
        constructor(private readonly hex: string) {}
        toJSON(): string {
          return this.hex;
        }
      }
      const data = { total: new Money(5), ref: new ObjectIdLike('65a1'), at: new Date(0) };
      expect(() => assertSerializable('order.created', data)).not.toThrow();
      const back = roundTrip(data) as Record<string, unknown>;
      expect(back).toStrictEqual({ total: { cents: 5 }, ref: '65a1', at: new Date(0) });
      expect(roundTrip(new Money(7))).toStrictEqual({ cents: 7 });
      expect(roundTrip({ total: new Money(5) })).toStrictEqual(
        JSON.parse(JSON.stringify({ total: new Money(5) })),
      );
    });

    it('keeps shared references shared and cycles cyclic', () => {
      const cyclic: Record<string, unknown> = { id: 'o1' };
      cyclic.self = cyclic;
      const line = { sku: 'a' };
      const back = roundTrip({ cyclic, lines: [line, line] }) as {
        cyclic: Record<string, unknown>;
        lines: object[];
      };
      expect(back.cyclic.self).toBe(back.cyclic);
      expect(back.lines[0]).toBe(back.lines[1]);
    });
  });

  describe('refuses what a queued listener could not receive, naming the event and the path', () => {
    const throughClass = new OrderShipped('o1', []);
    (throughClass.items as unknown[]).push({ back: throughClass });

    it.each<[string, unknown, RegExp]>([
      ['a function', { callback: () => 1 }, /a function at data\.callback/],
      ['a function as data', () => 1, /a function at data\b/],
      ['a symbol', { tag: Symbol('x') }, /a symbol at data\.tag/],
      ['symbol keys', { [Symbol('k')]: 1 }, /symbol keys at data\b/],
      [
        'a nested function',
        { order: { lines: [{ price: () => 1 }] } },
        /data\.order\.lines\[0]\.price/,
      ],
      ['a function in a Map', { m: new Map([['k', () => 1]]) }, /a function at data\.m\.k/],
      ['a symbol in a Set', { s: new Set([Symbol('x')]) }, /a symbol at data\.s/],
      ['a WeakMap', { cache: new WeakMap() }, /WeakMap at data\.cache/],
      ['a WeakSet', { seen: new WeakSet() }, /WeakSet at data\.seen/],
      ['an Error', { error: new Error('boom') }, /an Error .* at data\.error/],
      ['a Promise', { later: Promise.resolve(1) }, /Promise .* at data\.later/],
      ['a cycle through an event class', throughClass, /circular reference through an event class/],
    ])('%s', (_label, data, reason) => {
      for (const attempt of [
        () => serializeEnvelope(envelope(data, 'invoice.paid'), MiB),
        () => assertSerializable('invoice.paid', data),
      ]) {
        const error = thrownBy(attempt);
        expect(error).toBeInstanceOf(UnserializablePayloadError);
        const typed = error as UnserializablePayloadError;
        expect(typed.code).toBe('EVENTS_UNSERIALIZABLE_PAYLOAD');
        expect(typed.eventName).toBe('invoice.paid');
        expect(typed.message).toContain('"invoice.paid"');
        expect(typed.message).toMatch(reason);
      }
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
    // The plain-JSON format of 0.1 (no "v" mark): same checks.
    const legacy = { id: 'e1', name: 'n', data: { id: 'o1' }, metadata: {}, timestamp: 1 };
    const legacyVariant = (patch: Record<string, unknown>) =>
      JSON.stringify({ ...legacy, ...patch });

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
      ['a string timestamp', variant({ at: '2024-06-10' })],
      ['a missing timestamp', variant({ at: undefined })],
      ['an unknown format mark', variant({ v: 3 })],
      ['a string format mark', variant({ v: '2' })],
      ['no data at all', variant({ data: undefined })],
      ['dv that is not devalue output', variant({ data: undefined, dv: { id: 'o1' } })],
      ['an out-of-range reference in dv', variant({ data: undefined, dv: [{ id: 9 }] })],
      ['an unknown type in dv', variant({ data: undefined, dv: [['Nope', 1]] })],
      ['a bad Buffer in dv', variant({ data: undefined, dv: [['Buffer', 1], 5] })],
      ['a bad event class in dv', variant({ data: undefined, dv: [['Event', 1], 'x'] })],
      ['legacy: a missing id', legacyVariant({ id: undefined })],
      ['legacy: a string timestamp', legacyVariant({ timestamp: '2024-06-10' })],
      ['legacy: metadata as an array', legacyVariant({ metadata: ['c-1'] })],
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

    function jobV2(dataJson: string): string {
      return (
        `{"v":2,"id":"e1","name":"order.created","metadata":{"correlationId":"c"},` +
        `"at":1,"dv":${dataJson}}`
      );
    }

    it.each([
      ['a literal key', '[{"__proto__":1,"id":3},{"polluted":2},"yes","o1"]'],
      ['a key with unicode escapes', '[{"\\u005f_proto__":1,"id":3},{"polluted":2},"yes","o1"]'],
      ['a nested key', '[{"order":1,"id":4},{"__proto__":2},{"polluted":3},"yes","o1"]'],
    ])('never reaches an object in format 2: %s', (_label, dataJson) => {
      const { data } = deserializeEnvelope(jobV2(dataJson), noClasses) as EventEnvelope<
        Record<string, unknown>
      >;
      assertUnpolluted(data);
      expect(Object.getPrototypeOf(data)).toBe(Object.prototype);
      expect(data.id).toBe('o1');
      expect(data.polluted).toBeUndefined();
      if (data.order) assertUnpolluted(data.order);
      const copy = Object.assign({}, data);
      expect((copy as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('refuses a __proto__ key of a null-prototype object in format 2', () => {
      const json = jobV2('[["null","__proto__",1,"id",3],{"polluted":2},"yes","o1"]');
      expect(() => deserializeEnvelope(json, noClasses)).toThrow(MalformedJobError);
      assertUnpolluted({});
    });

    it('never replaces the prototype of a rehydrated class event in format 2', () => {
      const json = jobV2(
        '[["Event",1],[2,3],"order.shipped",{"orderId":4,"items":5,"__proto__":6},"o1",[],' +
          '{"polluted":7,"itemCount":8},"yes",99]',
      );
      const { data } = deserializeEnvelope(json, () => OrderShipped);
      assertUnpolluted(data);
      expect(data).toBeInstanceOf(OrderShipped);
      expect(Object.getPrototypeOf(data)).toBe(OrderShipped.prototype);
      expect((data as OrderShipped).itemCount).toBe(0);
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

    it('still reads the plain JSON of 0.1, class events included', () => {
      const json =
        '{"id":"e1","name":"order.shipped","isClass":1,"metadata":{"correlationId":"c"},' +
        '"timestamp":5,"data":{"orderId":"o1","items":[{"sku":"a","quantity":2}],"at":"2024-06-10"}}';
      const restored = deserializeEnvelope(json, () => OrderShipped);
      expect(restored).toMatchObject({ id: 'e1', name: 'order.shipped', timestamp: 5 });
      expect(restored.metadata).toEqual({ correlationId: 'c' });
      expect(restored.data).toBeInstanceOf(OrderShipped);
      expect((restored.data as OrderShipped).itemCount).toBe(2);
    });

    it('rebuilds event class instances nested in the payload, and in Maps', () => {
      const shipped = new OrderShipped('o1', [{ sku: 'a', quantity: 1 }]);
      const json = serializeEnvelope(
        envelope({ batch: [shipped], byId: new Map([['o1', shipped]]) }, 'order.batch'),
        MiB,
      );
      const restored = deserializeEnvelope(json, (name) =>
        name === 'order.shipped' ? OrderShipped : undefined,
      ).data as { batch: OrderShipped[]; byId: Map<string, OrderShipped> };
      expect(restored.batch[0]).toBeInstanceOf(OrderShipped);
      expect(restored.batch[0].itemCount).toBe(1);
      expect(restored.byId.get('o1')).toBe(restored.batch[0]);
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

  describe('eventNameOfPayload (the name without a parse, for watchers)', () => {
    it('reads the name of a format-2 payload, tagged or not, whatever its id and data hold', () => {
      const tricky = {
        id: 'x","name":"not.it',
        data: { name: 'data.name', nested: ',"name":"no' },
      };
      const plain = serializeEnvelope({ ...envelope(tricky.data), id: tricky.id }, MiB);
      expect(eventNameOfPayload(plain)).toBe('order.created');
      const tagged = serializeEnvelope(envelope({ a: 1 }, 'order.shipped'), MiB, ['a","name":"b']);
      expect(eventNameOfPayload(tagged)).toBe('order.shipped');
      const typed = serializeEnvelope(envelope({ at: new Date(0) }, 'order.dated'), MiB);
      expect(eventNameOfPayload(typed)).toBe('order.dated');
    });

    it('leaves to the full parse what it cannot read that way', () => {
      const legacy = JSON.stringify(envelope({ a: 1 }));
      expect(eventNameOfPayload(legacy)).toBeUndefined();
      expect(eventNameOfPayload('not json')).toBeUndefined();
      expect(eventNameOfPayload(`{"v":${PAYLOAD_FORMAT},"id":"x"}`)).toBeUndefined();
      expect(eventNameOfPayload(`{"v":${PAYLOAD_FORMAT},"id":"x","name":"a\\"b"}`)).toBeUndefined();
    });
  });
});
