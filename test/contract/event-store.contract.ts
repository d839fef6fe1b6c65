import { afterEach, describe, expect, it } from 'vitest';
import {
  EventStore,
  ExpectedVersion,
  InvalidEventNameError,
  InvalidOptionError,
  InvalidStreamIdError,
  UnserializablePayloadError,
  WrongExpectedVersionError,
  type EventStoreBaseOptions,
  type NewEvent,
  type StoredEvent,
} from 'nestjs-events';
import { waitFor } from '../support/wait-for.js';
import { exposeGc } from '../support/gc.js';

/** How a backend's spec gives the suite its stores. */
export interface EventStoreHarness {
  /** A new, empty, isolated store. */
  create(options?: EventStoreBaseOptions): Promise<EventStore>;
  /** Another store on the same data over its own connections (the same instance in memory). */
  peer(store: EventStore): Promise<EventStore>;
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

function events(name: string, count: number, from = 1): NewEvent[] {
  return Array.from({ length: count }, (_, i) => ({ name, data: { n: from + i } }));
}

class OrderShipped {
  static readonly eventName = 'order.shipped';
  constructor(readonly orderId: string) {}
  describe(): string {
    return `shipped ${this.orderId}`;
  }
}

/** The behaviour every EventStore backend shares. */
export function eventStoreContract(name: string, harness: EventStoreHarness): void {
  describe(`EventStore contract: ${name}`, () => {
    const opened: EventStore[] = [];
    const open = async (options?: EventStoreBaseOptions) => {
      const store = await harness.create(options);
      opened.push(store);
      return store;
    };
    const peerOf = async (store: EventStore) => {
      const peer = await harness.peer(store);
      if (peer !== store) opened.push(peer);
      return peer;
    };

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
    });

    describe('append and readStream', () => {
      it('stores events with versions from 1, positions from 1, and their envelope', async () => {
        const store = await open();
        const result = await store.append(
          'order-1',
          [
            { name: 'order.placed', data: { total: 30 }, metadata: { correlationId: 'c1' } },
            { name: 'order.paid', data: { amount: 30 } },
          ],
          { expectedVersion: ExpectedVersion.NoStream },
        );
        expect(result).toMatchObject({ streamId: 'order-1', version: 2, position: 2 });
        const read = await collect(store.readStream('order-1'));
        expect(read.map((e) => [e.name, e.version, e.position, e.streamId])).toEqual([
          ['order.placed', 1, 1, 'order-1'],
          ['order.paid', 2, 2, 'order-1'],
        ]);
        expect(read[0].data).toEqual({ total: 30 });
        expect(read[0].metadata).toEqual({ correlationId: 'c1' });
        expect(typeof read[0].id).toBe('string');
        expect(read[0].id).not.toBe(read[1].id);
        expect(typeof read[0].timestamp).toBe('number');
        expect(result.events.map((e) => e.id)).toEqual(read.map((e) => e.id));
        expect(await store.streamVersion('order-1')).toBe(2);
        expect(await store.streamVersion('order-unknown')).toBe(0);
        expect(await store.headPosition()).toBe(2);
      });

      it('keeps a given id and timestamp, and reads an unknown stream as empty', async () => {
        const store = await open();
        await store.append('s', { name: 'a.b', id: 'my-id', timestamp: 1234, data: null });
        const [event] = await collect(store.readStream('s'));
        expect(event).toMatchObject({ id: 'my-id', timestamp: 1234, data: null });
        expect(await collect(store.readStream('nothing-here'))).toEqual([]);
      });

      it('refuses a wrong expected version with the actual version, writing nothing', async () => {
        const store = await open();
        await store.append('s', events('a.b', 3));
        const error = await store
          .append('s', events('a.b', 2), { expectedVersion: 2 })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(WrongExpectedVersionError);
        expect(error).toMatchObject({
          code: 'EVENTS_WRONG_EXPECTED_VERSION',
          streamId: 's',
          expectedVersion: 2,
          actualVersion: 3,
        });
        const noStream = await store
          .append('s', events('a.b', 1), { expectedVersion: ExpectedVersion.NoStream })
          .catch((e: unknown) => e);
        expect(noStream).toMatchObject({ actualVersion: 3, expectedVersion: 'no_stream' });
        const ahead = await store
          .append('other', events('a.b', 1), { expectedVersion: 1 })
          .catch((e: unknown) => e);
        expect(ahead).toMatchObject({ actualVersion: 0 });
        expect(await store.streamVersion('s')).toBe(3);
        expect(await store.headPosition()).toBe(3);
        await store.append('s', events('a.b', 1), { expectedVersion: 3 });
        await store.append('s', events('a.b', 1), { expectedVersion: ExpectedVersion.Any });
        await store.append('new', events('a.b', 1), { expectedVersion: 0 });
        expect(await store.streamVersion('s')).toBe(5);
        expect(await store.headPosition()).toBe(6);
      });

      it('refuses bad input with typed errors before anything is written', async () => {
        const store = await open({ maxPayloadBytes: 10_000 });
        const cases: [() => Promise<unknown>, Function, string][] = [
          [
            () => store.append('', events('a.b', 1)),
            InvalidStreamIdError,
            'EVENTS_INVALID_STREAM_ID',
          ],
          [
            () => store.append(42 as unknown as string, events('a.b', 1)),
            InvalidStreamIdError,
            'EVENTS_INVALID_STREAM_ID',
          ],
          [
            () => store.append('s', events('a.b', 1), { expectedVersion: -1 }),
            InvalidOptionError,
            'EVENTS_INVALID_OPTION',
          ],
          [
            () => store.append('s', events('a.b', 1), { expectedVersion: 1.5 }),
            InvalidOptionError,
            'EVENTS_INVALID_OPTION',
          ],
          [
            () =>
              store.append('s', events('a.b', 1), {
                expectedVersion: 'latest' as unknown as number,
              }),
            InvalidOptionError,
            'EVENTS_INVALID_OPTION',
          ],
          [
            () => store.append('s', [{ data: 1 } as unknown as NewEvent]),
            InvalidEventNameError,
            'EVENTS_INVALID_EVENT_NAME',
          ],
          [
            () => store.append('s', [{ name: 'ok.one' }, { name: '' }]),
            InvalidEventNameError,
            'EVENTS_INVALID_EVENT_NAME',
          ],
          [() => store.append('s', []), InvalidOptionError, 'EVENTS_INVALID_OPTION'],
          [
            () => store.append('s', [{ name: 'a.b', data: { fn: () => 1 } }]),
            UnserializablePayloadError,
            'EVENTS_UNSERIALIZABLE_PAYLOAD',
          ],
          [
            () => store.append('s', [{ name: 'a.b', data: 'x'.repeat(20_000) }]),
            Error,
            'EVENTS_PAYLOAD_TOO_LARGE',
          ],
          [
            () => store.append('s', [{ name: 'a.b', metadata: { n: 1 as unknown as string } }]),
            InvalidOptionError,
            'EVENTS_INVALID_OPTION',
          ],
        ];
        for (const [act, type, code] of cases) {
          const error = await act().catch((e: unknown) => e);
          expect(error).toBeInstanceOf(type);
          expect(error).toMatchObject({ code });
        }
        expect(() => store.readStream('')).toThrow(InvalidStreamIdError);
        expect(() => store.readStream('s', { fromVersion: 0 })).toThrow(InvalidOptionError);
        expect(() => store.readAll({ pattern: 'a..b' })).toThrow(/Invalid event pattern/);
        expect(() => store.readAll({ fromPosition: -1 })).toThrow(InvalidOptionError);
        expect(await store.headPosition()).toBe(0);
        expect(await store.streamVersion('s')).toBe(0);
      });

      it('reads a stream by version range, backwards and with a limit, across pages', async () => {
        const store = await open({ pageSize: 3 });
        await store.append('s', events('a.b', 10));
        await store.append('other', events('a.b', 2));
        const versions = async (options: Parameters<EventStore['readStream']>[1]) =>
          (await collect(store.readStream('s', options))).map((e) => e.version);
        expect(await versions({})).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        expect(await versions({ fromVersion: 4, toVersion: 8 })).toEqual([4, 5, 6, 7, 8]);
        expect(await versions({ fromVersion: 2, limit: 4 })).toEqual([2, 3, 4, 5]);
        expect(await versions({ backwards: true })).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
        expect(await versions({ backwards: true, limit: 4 })).toEqual([10, 9, 8, 7]);
        expect(await versions({ backwards: true, fromVersion: 6, toVersion: 2 })).toEqual([
          6, 5, 4, 3, 2,
        ]);
        expect(await versions({ fromVersion: 11 })).toEqual([]);
        const data = (await collect(store.readStream<{ n: number }>('s'))).map((e) => e.data.n);
        expect(data).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      });

      it('never lets "__proto__" in a payload reach an object prototype', async () => {
        const store = await open();
        const data = JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}') as object;
        await store.append('s', { name: 'a.b', data });
        const [event] = await collect(store.readStream<Record<string, unknown>>('s'));
        expect(event.data.ok).toBe(1);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        expect(Object.getPrototypeOf(event.data)).toBe(Object.prototype);
      });

      it('reads class events back as instances when it knows their class', async () => {
        const store = await open({
          eventClass: (n) => (n === OrderShipped.eventName ? OrderShipped : undefined),
        });
        await store.append('s', { name: OrderShipped.eventName, data: new OrderShipped('o7') });
        const [event] = await collect(store.readStream<OrderShipped>('s'));
        expect(event.data).toBeInstanceOf(OrderShipped);
        expect(event.data.describe()).toBe('shipped o7');
      });
    });

    describe('readAll', () => {
      it('reads every stream in position order, filtered by pattern, time and position', async () => {
        const store = await open({ pageSize: 2 });
        await store.append('a', [
          { name: 'order.placed', timestamp: 1000 },
          { name: 'order.item.added', timestamp: 2000 },
        ]);
        await store.append('b', [{ name: 'invoice.sent', timestamp: 3000 }]);
        await store.append('a', [
          { name: 'order.paid', timestamp: 4000 },
          { name: 'order.item.removed', timestamp: 5000 },
          { name: 'user.created', timestamp: 6000 },
        ]);
        const read = async (options: Parameters<EventStore['readAll']>[0]) =>
          (await collect(store.readAll(options))).map((e) => `${e.position}:${e.name}`);
        expect(await read({})).toEqual([
          '1:order.placed',
          '2:order.item.added',
          '3:invoice.sent',
          '4:order.paid',
          '5:order.item.removed',
          '6:user.created',
        ]);
        expect(await read({ pattern: 'order.*' })).toEqual(['1:order.placed', '4:order.paid']);
        expect(await read({ pattern: 'order.**' })).toEqual([
          '1:order.placed',
          '2:order.item.added',
          '4:order.paid',
          '5:order.item.removed',
        ]);
        expect(await read({ pattern: ['*.item.*', 'invoice.sent'] })).toEqual([
          '2:order.item.added',
          '3:invoice.sent',
          '5:order.item.removed',
        ]);
        expect(await read({ pattern: '**.removed' })).toEqual(['5:order.item.removed']);
        expect(await read({ pattern: 'user.created' })).toEqual(['6:user.created']);
        expect(await read({ since: 2000, until: new Date(4000) })).toEqual([
          '2:order.item.added',
          '3:invoice.sent',
          '4:order.paid',
        ]);
        expect(await read({ fromPosition: 3, toPosition: 5 })).toEqual([
          '3:invoice.sent',
          '4:order.paid',
          '5:order.item.removed',
        ]);
        expect(await read({ fromPosition: 2, limit: 3, pattern: 'order.**' })).toEqual([
          '2:order.item.added',
          '4:order.paid',
          '5:order.item.removed',
        ]);
        expect(await read({ fromPosition: 7 })).toEqual([]);
      });

      it('escapes regex characters of pattern segments', async () => {
        const store = await open();
        await store.append('s', [{ name: 'a.b+c' }, { name: 'a.bbc' }, { name: 'x.a.b+c' }]);
        const names = (await collect(store.readAll({ pattern: '**.b+c' }))).map((e) => e.name);
        expect(names).toEqual(['a.b+c', 'x.a.b+c']);
      });

      it('pages through 100,000 events in bounded memory', { timeout: 180_000 }, async () => {
        const store = await open({ pageSize: 500 });
        const body = 'x'.repeat(400);
        for (let batch = 0; batch < 50; batch++) {
          await store.append(
            `bulk-${batch % 7}`,
            Array.from({ length: 2000 }, (_, i) => ({
              name: 'bulk.item',
              data: { n: batch * 2000 + i, body },
            })),
          );
        }
        const collectGarbage = exposeGc();
        collectGarbage();
        const baseline = process.memoryUsage().heapUsed;
        let peak = 0;
        let count = 0;
        let bytesRead = 0;
        let previous = 0;
        let outOfOrder = 0;
        for await (const event of store.readAll<{ n: number; body: string }>()) {
          if (event.position !== previous + 1 || event.data.n !== previous) outOfOrder++;
          previous = event.position;
          bytesRead += event.data.body.length + 100;
          if (++count % 10_000 === 0) {
            collectGarbage();
            peak = Math.max(peak, process.memoryUsage().heapUsed - baseline);
          }
        }
        expect(count).toBe(100_000);
        expect(outOfOrder).toBe(0);
        // Holding what was read would take more than bytesRead (~50 MB); a page at a time stays
        // within a small fraction of it.
        expect(peak).toBeLessThan(bytesRead / 10);
      });
    });

    describe('concurrency', () => {
      it('lets exactly one of many racing appends with the same expected version win', async () => {
        const store = await open();
        await store.append('race', events('a.b', 1));
        const writers = await Promise.all(Array.from({ length: 6 }, () => peerOf(store)));
        const outcomes = await Promise.allSettled(
          writers.map((w, i) =>
            w.append('race', [{ name: 'a.won', data: { writer: i } }], { expectedVersion: 1 }),
          ),
        );
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        const refused = outcomes.filter((o) => o.status === 'rejected');
        expect(refused).toHaveLength(5);
        for (const o of refused) {
          expect(o.reason).toBeInstanceOf(WrongExpectedVersionError);
          expect(o.reason).toMatchObject({ actualVersion: 2 });
        }
        expect(await store.streamVersion('race')).toBe(2);
      });

      it('keeps versions and positions gapless under parallel writers that retry', async () => {
        const store = await open();
        const writers = await Promise.all(Array.from({ length: 8 }, () => peerOf(store)));
        const perWriter = 10;
        let conflicts = 0;
        await Promise.all(
          writers.map(async (writer, w) => {
            for (let i = 0; i < perWriter; i++) {
              for (;;) {
                const version = await writer.streamVersion('shared');
                try {
                  await writer.append(
                    'shared',
                    [
                      { name: 'shared.step', data: { w, i, part: 0 } },
                      { name: 'shared.step', data: { w, i, part: 1 } },
                    ],
                    { expectedVersion: version },
                  );
                  break;
                } catch (error) {
                  if (!(error instanceof WrongExpectedVersionError)) throw error;
                  conflicts++;
                }
              }
              await writer.append(`own-${w}`, [{ name: 'own.step', data: { i } }]);
            }
          }),
        );
        const shared = await collect(
          store.readStream<{ w: number; i: number; part: number }>('shared'),
        );
        expect(shared.map((e) => e.version)).toEqual(
          Array.from({ length: 8 * perWriter * 2 }, (_, i) => i + 1),
        );
        // Each append's two events are adjacent: atomic, never interleaved with another writer's.
        for (let i = 0; i < shared.length; i += 2) {
          expect([shared[i].data.w, shared[i].data.i, shared[i].data.part]).toEqual([
            shared[i + 1].data.w,
            shared[i + 1].data.i,
            0,
          ]);
          expect(shared[i + 1].position).toBe(shared[i].position + 1);
        }
        const all = await collect(store.readAll());
        expect(all.map((e) => e.position)).toEqual(all.map((_, i) => i + 1));
        expect(all).toHaveLength(8 * perWriter * 3);
        // Conflicts happen (the writers really raced) and every one was retried to success.
        expect(conflicts).toBeGreaterThan(0);
      });
    });

    describe('subscribe', () => {
      it('catches up, follows live appends in order, and resumes from its checkpoint', async () => {
        const store = await open({ pageSize: 2 });
        await store.append('s1', events('order.placed', 3));
        await store.append('s2', events('user.created', 1));
        const seen: StoredEvent[] = [];
        const subscription = store.subscribe({ pattern: 'order.*' }, async (event) => {
          seen.push(event);
        });
        await subscription.caughtUp;
        expect(subscription.isLive).toBe(true);
        expect(seen.map((e) => e.position)).toEqual([1, 2, 3]);
        const writer = await peerOf(store);
        await writer.append('s3', events('order.paid', 2));
        await writer.append('s3', events('user.deleted', 1));
        await writer.append('s1', events('order.placed', 1, 4));
        await waitFor(() => seen.length === 6, { message: 'live events' });
        expect(seen.map((e) => `${e.position}:${e.name}`)).toEqual([
          '1:order.placed',
          '2:order.placed',
          '3:order.placed',
          '5:order.paid',
          '6:order.paid',
          '8:order.placed',
        ]);
        await waitFor(() => subscription.checkpoint === 9, { message: 'checkpoint' });
        await subscription.close();
        await subscription.done;
        expect(subscription.isLive).toBe(false);

        await store.append('s1', events('order.placed', 1, 5));
        const resumed: number[] = [];
        const again = store.subscribe(
          { fromPosition: subscription.checkpoint, pattern: 'order.*' },
          (event) => {
            resumed.push(event.position);
          },
        );
        await again.caughtUp;
        expect(resumed).toEqual([9]);
        await again.close();
      });

      it('starts at the end with fromPosition "end"', async () => {
        const store = await open();
        await store.append('s', events('a.b', 5));
        const seen: number[] = [];
        const subscription = store.subscribe({ fromPosition: 'end' }, (e) => {
          seen.push(e.position);
        });
        await subscription.caughtUp;
        await store.append('s', events('a.b', 1));
        await waitFor(() => seen.length === 1);
        expect(seen).toEqual([6]);
        await subscription.close();
      });

      it('stops at a failing event, reports it, and keeps the checkpoint on it', async () => {
        const store = await open();
        await store.append('s', events('a.b', 5));
        const errors: [unknown, number][] = [];
        const subscription = store.subscribe(
          {
            onError: (error, event) => {
              errors.push([error, event.position]);
            },
          },
          (event) => {
            if (event.position === 3) throw new Error('boom');
          },
        );
        await subscription.done;
        expect(errors).toHaveLength(1);
        expect(errors[0][1]).toBe(3);
        expect((subscription.error as Error).message).toBe('boom');
        expect(subscription.checkpoint).toBe(3);
      });

      it('is closed with the store', async () => {
        const store = await open();
        const subscription = store.subscribe({}, () => undefined);
        await subscription.caughtUp;
        await store.close();
        await subscription.done;
        expect(subscription.isLive).toBe(false);
      });
    });
  });
}
