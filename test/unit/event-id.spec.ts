import { beforeEach, describe, expect, it, vi } from 'vitest';

// The generator keeps per-process state (last millisecond, counter): each test gets a fresh one.
let createEventId: typeof import('../../lib/event/event-id.js').createEventId;
beforeEach(async () => {
  vi.resetModules();
  ({ createEventId } = await import('../../lib/event/event-id.js'));
});

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const ID = /^[0-9ABCDEFGHJKMNPQRSTVWXYZ]{26}$/;

function decodeTime(id: string): number {
  return [...id.slice(0, 10)].reduce((value, char) => value * 32 + CROCKFORD.indexOf(char), 0);
}

function expectAscending(ids: string[]): void {
  for (let i = 1; i < ids.length; i++) {
    if (!(ids[i - 1] < ids[i])) {
      throw new Error(`id ${i} (${ids[i]}) does not sort after id ${i - 1} (${ids[i - 1]})`);
    }
  }
}

describe('createEventId', () => {
  it('gives 26 characters of the Crockford base32 alphabet', () => {
    for (let i = 0; i < 1000; i++) expect(createEventId()).toMatch(ID);
    expect(createEventId(0)).toMatch(ID);
    expect(createEventId(2 ** 48 - 1)).toMatch(ID);
  });

  it('gives no duplicate over many ids, also within one millisecond', () => {
    const count = 50_000;
    const ids = new Set<string>();
    const now = Date.now();
    for (let i = 0; i < count; i++) ids.add(createEventId(now));
    for (let i = 0; i < count; i++) ids.add(createEventId());
    expect(ids.size).toBe(2 * count);
  });

  it('sorts later ids after earlier ones within one millisecond', () => {
    const now = Date.now() + 1_000;
    expectAscending(Array.from({ length: 5_000 }, () => createEventId(now)));
  });

  it('sorts later ids after earlier ones across milliseconds', () => {
    const start = Date.now() + 2_000;
    const ids: string[] = [];
    for (let ms = 0; ms < 50; ms++) {
      for (let i = 0; i < 20; i++) ids.push(createEventId(start + ms));
    }
    expectAscending(ids);
    expect(decodeTime(ids[0])).toBe(start);
    expect(decodeTime(ids[ids.length - 1])).toBe(start + 49);
  });

  it('sorts ids made with the real clock in creation order', () => {
    expectAscending(Array.from({ length: 20_000 }, () => createEventId()));
  });

  it("sorts ids across a carry of the counter's low 20 bits, within one millisecond", () => {
    // The counter is kept as two 20-bit halves: the low one wraps into the high one here.
    const now = Date.now() + 1_500;
    const ids: string[] = [];
    for (let i = 1; i <= 1_048_580; i++) {
      const id = createEventId(now);
      if (i >= 1_048_570) ids.push(id);
    }
    expectAscending(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.map((id) => id.slice(-8))).toContain('00010000');
  });

  it('sorts ids across each block of 1,024 of the counter, and a new millisecond within one', () => {
    // The low part's first two characters are kept per block of 1,024 ids: a block boundary and
    // a millisecond that changes mid-block both give the next id its own prefix.
    const now = Date.now() + 2_500;
    const ids = Array.from({ length: 3_000 }, () => createEventId(now));
    ids.push(createEventId(now + 1), createEventId(now + 1));
    expectAscending(ids);
    expect(new Set(ids).size).toBe(ids.length);
    // Ids 1,024 and 2,048 of the millisecond start a new block (the counter starts at 1).
    expect(ids[1023].slice(-4)).toBe('0100');
    expect(ids[2047].slice(-4)).toBe('0200');
    expect(decodeTime(ids[ids.length - 1])).toBe(now + 1);
  });

  it('keeps sorting when the clock goes backwards', () => {
    const now = Date.now() + 3_000;
    const before = createEventId(now);
    const after = createEventId(now - 500);
    expect(after > before).toBe(true);
  });

  it('sorts by time across processes: the time part leads', () => {
    // One clock read: two would differ by 2 ms when a millisecond passes between them.
    const at = Date.now() + 4_000;
    const earlier = createEventId(at);
    const later = createEventId(at + 1);
    expect(decodeTime(later) - decodeTime(earlier)).toBe(1);
    expect(later.slice(0, 10) > earlier.slice(0, 10)).toBe(true);
  });

  it('encodes the given millisecond in its first ten characters', () => {
    const now = Date.now() + 5_000;
    expect(decodeTime(createEventId(now))).toBe(now);
  });

  it('encodes the millisecond across the boundaries of its 20-bit pieces', () => {
    // The time part is kept as a high part (re-encoded when the bits above the low 20 change)
    // and two pairs for the low 20 bits: each boundary and a jump of the high part decode back.
    const times = [1_048_575, 1_048_576, 1_048_577, 2 ** 35 - 1, 2 ** 35, Date.now(), 2 ** 45 + 1];
    for (const ms of times) {
      const id = createEventId(ms);
      expect(decodeTime(id)).toBe(ms);
      expect(createEventId(ms).slice(0, 18)).toBe(id.slice(0, 18));
    }
  });

  it('stays well-formed for a fractional timestamp (such as performance.timeOrigin + now())', () => {
    const now = Date.now() + 6_000.5;
    const id = createEventId(now);
    expect(id).toMatch(ID);
    expect(decodeTime(id)).toBe(Math.floor(now));
  });

  it('falls back to the clock for a timestamp that is not a time', () => {
    for (const now of [Number.NaN, -1, Number.POSITIVE_INFINITY]) {
      const before = Date.now();
      const id = createEventId(now);
      const after = Date.now();
      expect(id).toMatch(ID);
      expect(decodeTime(id)).toBeGreaterThanOrEqual(before);
      expect(decodeTime(id)).toBeLessThanOrEqual(after);
    }
  });
});
