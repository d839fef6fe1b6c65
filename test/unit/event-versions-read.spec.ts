import { describe, expect, it } from 'vitest';
import type { EventEnvelope } from 'nestjs-events';
import { EventVersions, NEWER_VERSION } from '../../lib/scheduling/event-versions.js';

/** Versions of `order.placed` up to 3, each upcaster noting the envelope it was given. */
function versions(seen: EventEnvelope[]): EventVersions {
  const v = new EventVersions();
  v.define(
    [
      {
        name: 'order.placed',
        from: 1,
        owner: 'A.toV2',
        fn: (data, envelope) => (seen.push(envelope), { ...(data as object), currency: 'EUR' }),
      },
      {
        name: 'order.placed',
        from: 2,
        owner: 'A.toV3',
        fn: (data, envelope) => (seen.push(envelope), { ...(data as object), v3: true }),
      },
    ],
    () => undefined,
    [],
  );
  return v;
}

const base = {
  id: 'e1',
  name: 'order.placed',
  data: { total: 10 },
  metadata: { tenantId: 't1' },
  timestamp: 1_700_000_000_000,
};

describe('EventVersions: reads of a queued job (readQueued) and of anything else (read)', () => {
  it.each([
    ['with an attempt', { ...base, attempt: 2 }],
    ['without an attempt', base],
    ['at version 2', { ...base, version: 2, attempt: 1 }],
  ])('readQueued gives what read gives, %s, and the same envelopes to the upcasters', (_, env) => {
    const seenByRead: EventEnvelope[] = [];
    const seenByQueued: EventEnvelope[] = [];
    const read = versions(seenByRead).read(env);
    const queued = versions(seenByQueued).readQueued(env);
    expect(queued).toEqual(read);
    expect(seenByQueued).toEqual(seenByRead);
    expect((queued as EventEnvelope).version).toBe(3);
    expect(Object.keys(queued as EventEnvelope).sort()).toEqual(
      Object.keys(read as EventEnvelope).sort(),
    );
  });

  it('keeps a current envelope as it is and refuses a newer one, as read does', () => {
    const v = versions([]);
    const current = { ...base, version: 3 };
    expect(v.readQueued(current)).toBe(current);
    expect(v.readQueued({ ...base, version: 4 })).toBe(NEWER_VERSION);
  });
});
