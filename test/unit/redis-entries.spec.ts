import { describe, expect, it } from 'vitest';
import { compareEntryIds } from '../../lib/queue/redis/redis-entries.js';
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
