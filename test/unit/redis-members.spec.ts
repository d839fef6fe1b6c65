import { describe, expect, it } from 'vitest';
import type { NewJob } from '../../lib/queue/queue-job.js';
import { stagedMember } from '../../lib/queue/redis/redis-members.js';

const job = (over: Partial<NewJob>): NewJob => ({
  id: 'e1:Listeners.run',
  queue: 'q',
  listener: 'Listeners.run',
  payload: '{"v":2,"data":{"text":"a \\"quoted\\" line\\nand \\u2028 and \\\\"}}',
  delayMs: 0,
  ...over,
});

describe('stagedMember (a prioritized job as its level holds it)', () => {
  it('writes the JSON of {id, l, p, a, t, q, ag}, escaping what needs it', () => {
    const cases: NewJob[] = [
      job({ priority: 3 }),
      job({ priority: -10, priorityAgingMs: 60_000 }),
      job({ priorityAgingMs: 250 }),
      job({ id: 'id with "quotes" and \\ and \u0001', listener: 'A."b"', payload: '' }),
    ];
    for (const one of cases) {
      const text = stagedMember(one, 1_700_000_000_123);
      expect(JSON.parse(text)).toEqual({
        id: one.id,
        l: one.listener,
        p: one.payload,
        a: '0',
        t: '1700000000123',
        q: String(one.priority ?? 0),
        ag: String(one.priorityAgingMs ?? 0),
      });
      // The take script reads a level's head without decoding it (see TAKE_SCRIPT): one
      // unescaped "ag" key, which a ready time "r" follows once Redis stored it.
      expect(text.endsWith(`"ag":"${one.priorityAgingMs ?? 0}"}`)).toBe(true);
    }
  });
});
