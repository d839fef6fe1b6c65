import { AsyncLocalStorage } from 'node:async_hooks';
import { describe, expect, it } from 'vitest';
import { createEnvelope } from '../../lib/bus/event-envelope.factory.js';
import { EventContext, swapSyncFrame } from '../../lib/event/event-context.js';

// On Node 24 (context frames) `runAs` enters the storage inside an AsyncResource rather than
// through `storage.run`; on Node 20 it keeps `run`. Both must give the same context: these run
// on either (`npx -p node@24 node node_modules/vitest/vitest.mjs run <this file>`).
describe('EventContext.runAs', () => {
  const parent = createEnvelope('a.parent', {}, undefined);

  it('carries the event across await, and the caller gets its own context back', async () => {
    const seen: (string | undefined)[] = [];
    const done = EventContext.run({ tenantId: 't1' }, () => {
      const inner = EventContext.runAs(parent, async () => {
        seen.push(EventContext.current()?.event?.id);
        await Promise.resolve();
        await new Promise((resolve) => setImmediate(resolve));
        seen.push(EventContext.current()?.event?.id);
      });
      // Back in the caller before the listener's first await resumed.
      seen.push(EventContext.get('tenantId'));
      return inner;
    });
    await done;
    expect(seen).toEqual([parent.id, 't1', parent.id]);
    expect(EventContext.current()).toBeUndefined();
  });

  it('puts the caller context back when the function throws', () => {
    const outside = EventContext.run({ tenantId: 't2' }, () => {
      expect(() =>
        EventContext.runAs(parent, () => {
          throw new Error('boom');
        }),
      ).toThrow('boom');
      return EventContext.current();
    });
    expect(outside?.metadata.tenantId).toBe('t2');
    expect(outside?.event).toBeUndefined();
  });

  it("keeps the app's own AsyncLocalStorage stores inside, also after await", async () => {
    const app = new AsyncLocalStorage<string>();
    const seen = await app.run('request-1', async () => {
      const values = await EventContext.runAs(parent, async () => {
        const before = app.getStore();
        await new Promise((resolve) => setImmediate(resolve));
        return [before, app.getStore(), EventContext.current()?.event?.id];
      });
      return [...values, app.getStore()];
    });
    expect(seen).toEqual(['request-1', 'request-1', parent.id, 'request-1']);
  });

  it('an emit inside another runAs is caused by the innermost event', () => {
    const child = createEnvelope('a.child', {}, undefined);
    const ids = EventContext.runAs(parent, () =>
      EventContext.runAs(child, () => createEnvelope('a.grandchild', {}, undefined).metadata),
    );
    expect(ids.causationId).toBe(child.id);
    expect(EventContext.current()).toBeUndefined();
  });
});

// The context holds the handled event's envelope itself (no `{ event, metadata }` per dispatch);
// what callers see is the same state either way.
describe('EventContext while an event is handled', () => {
  const handled = createEnvelope('a.handled', {}, { metadata: { tenantId: 't3' } });

  it.each([
    [
      'a sync frame',
      <R>(fn: () => R): R => {
        const previous = swapSyncFrame(handled);
        try {
          return fn();
        } finally {
          swapSyncFrame(previous);
        }
      },
    ],
    ['the async storage', <R>(fn: () => R): R => EventContext.runAs(handled, fn)],
  ])('in %s: the state, run() inside it, and the emits of both', (_, during) => {
    const seen = during(() => ({
      state: EventContext.current(),
      tenant: EventContext.get('tenantId'),
      emitted: createEnvelope('a.child', {}, undefined).metadata,
      inRun: EventContext.run({ step: '2' }, () => ({
        state: EventContext.current(),
        emitted: createEnvelope('a.child', {}, undefined).metadata,
      })),
    }));
    expect(seen.state).toEqual({ event: handled, metadata: handled.metadata });
    expect(seen.state?.event).toBe(handled);
    expect(seen.tenant).toBe('t3');
    expect(seen.emitted).toMatchObject({
      causationId: handled.id,
      correlationId: handled.metadata.correlationId,
      tenantId: 't3',
    });
    expect(seen.inRun.state?.event).toBe(handled);
    expect(seen.inRun.state?.metadata).toEqual({ ...handled.metadata, step: '2' });
    expect(seen.inRun.emitted).toMatchObject({
      causationId: handled.id,
      tenantId: 't3',
      step: '2',
    });
    expect(EventContext.current()).toBeUndefined();
  });
});
