import { describe, expect, it } from 'vitest';
import { compareEntryIds, toJob } from '../../lib/queue/redis/redis-entries.js';
import { seededRandom } from './support/seeded-random.js';

/** The order Redis gives stream entry ids: by milliseconds, then by sequence, as numbers. */
function byNumbers(a: string, b: string): number {
  const [msA, seqA] = a.split('-').map(BigInt);
  const [msB, seqB] = b.split('-').map(BigInt);
  if (msA !== msB) return msA < msB ? -1 : 1;
  if (seqA !== seqB) return seqA < seqB ? -1 : 1;
  return 0;
}

describe('compareEntryIds', () => {
  it('orders entry ids as Redis does, whatever their lengths', () => {
    const random = seededRandom(7);
    const pick = (digits: number): string => String(Math.floor(random() * 10 ** digits));
    const ids = ['0-0', '0-1', '1-0', '9-9', '10-0', '1733045000000-0', '1733045000000-10'];
    for (let i = 0; i < 400; i++)
      ids.push(`${pick(1 + Math.floor(random() * 13))}-${pick(1 + Math.floor(random() * 4))}`);
    for (const a of ids) {
      for (const b of ids) expect(Math.sign(compareEntryIds(a, b))).toBe(byNumbers(a, b));
    }
  });
});

describe('toJob', () => {
  const fields = ['id', 'job-1', 'l', 'A.b', 'p', '{"v":1}', 'a', '1', 't', '1700000000000'];

  it('reads a job taken from a priority level (one field j) as the same job in fields', () => {
    const level = JSON.stringify({
      id: 'job-1',
      l: 'A.b',
      p: '{"v":1}',
      a: '1',
      t: '1700000000000',
      q: '3',
      ag: '0',
      r: '5',
    });
    expect(toJob('q', '7-0', 2, ['j', level])).toEqual(toJob('q', '7-0', 2, fields));
    expect(toJob('q', '7-0', 2, ['j', level])).toMatchObject({
      id: 'job-1',
      attempt: 3,
      receipt: '7-0/2',
    });
  });

  it('keeps an unreadable level job as its text, with no listener, so that it is dead-lettered', () => {
    expect(toJob('q', '7-0', 1, ['j', '{not json'])).toEqual({
      id: '7-0',
      queue: 'q',
      listener: '',
      payload: '{not json',
      attempt: 1,
      enqueuedAt: 0,
      receipt: '7-0/1',
    });
  });
});
