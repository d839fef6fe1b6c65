import { describe, expect, it } from 'vitest';
import { assertBackoff, backoffDelay, type BackoffOption } from '../../lib/queue/backoff.js';
import { InvalidOptionError } from '../../lib/errors/invalid-option.error.js';

const YEAR_MS = 365 * 24 * 3600 * 1000;

function delays(backoff: BackoffOption, retries: number, random = () => 0): number[] {
  return Array.from({ length: retries }, (_, i) => backoffDelay(backoff, i + 1, random));
}

describe('backoffDelay', () => {
  it('waits a fixed delay before every retry', () => {
    expect(delays(250, 4)).toEqual([250, 250, 250, 250]);
    expect(delays(0, 2)).toEqual([0, 0]);
  });

  it('walks a list, one delay per retry, and repeats the last one', () => {
    expect(delays([1000, 5000, 30000], 6)).toEqual([1000, 5000, 30000, 30000, 30000, 30000]);
    expect(delays([7], 3)).toEqual([7, 7, 7]);
  });

  it('doubles an exponential delay per retry', () => {
    expect(delays({ type: 'exponential', delay: 100 }, 5)).toEqual([100, 200, 400, 800, 1600]);
  });

  it('caps an exponential delay at maxDelay', () => {
    expect(delays({ type: 'exponential', delay: 100, maxDelay: 500 }, 6)).toEqual([
      100, 200, 400, 500, 500, 500,
    ]);
  });

  it('never exceeds a year, even without a cap and after many retries', () => {
    expect(backoffDelay({ type: 'exponential', delay: 1000 }, 60)).toBe(YEAR_MS);
    expect(backoffDelay({ type: 'exponential', delay: 1000 }, 5000)).toBe(YEAR_MS);
  });

  it('stays a number for a zero exponential delay after many retries', () => {
    expect(backoffDelay({ type: 'exponential', delay: 0 }, 2000)).toBe(0);
    expect(backoffDelay({ type: 'exponential', delay: 0, jitter: 1 }, 2000, () => 0.5)).toBe(0);
  });

  it('treats a retry number below 1 as the first retry', () => {
    expect(backoffDelay([10, 20], 0)).toBe(10);
    expect(backoffDelay({ type: 'exponential', delay: 10 }, 0)).toBe(10);
  });

  it('only lengthens a delay with jitter, by at most the jitter fraction', () => {
    const backoff: BackoffOption = {
      type: 'exponential',
      delay: 1000,
      maxDelay: 4000,
      jitter: 0.5,
    };
    const base = [1000, 2000, 4000, 4000];
    // The injected random covers the ends of its range: 0 and just below 1.
    expect(delays(backoff, 4, () => 0)).toEqual(base);
    expect(delays(backoff, 4, () => 0.999999)).toEqual([1499, 2999, 5999, 5999]);
    expect(delays(backoff, 4, () => 0.5)).toEqual([1250, 2500, 5000, 5000]);
    for (const r of [0, 0.1, 0.25, 0.5, 0.75, 0.999999]) {
      delays(backoff, 4, () => r).forEach((delay, i) => {
        expect(delay).toBeGreaterThanOrEqual(base[i]);
        expect(delay).toBeLessThan(base[i] * 1.5);
        expect(Number.isInteger(delay)).toBe(true);
      });
    }
  });

  it('uses no randomness without jitter', () => {
    let calls = 0;
    const random = () => {
      calls++;
      return 0.9;
    };
    expect(backoffDelay({ type: 'exponential', delay: 100 }, 3, random)).toBe(400);
    expect(backoffDelay([5, 6], 2, random)).toBe(6);
    expect(backoffDelay(9, 2, random)).toBe(9);
    expect(calls).toBeLessThanOrEqual(1);
  });
});

describe('assertBackoff', () => {
  it.each<[string, unknown]>([
    ['zero', 0],
    ['a fixed delay', 1500],
    ['a list', [100, 200, 0]],
    ['exponential', { type: 'exponential', delay: 100 }],
    [
      'exponential with cap and jitter',
      { type: 'exponential', delay: 100, maxDelay: 100, jitter: 1 },
    ],
    ['a year', YEAR_MS],
  ])('accepts %s', (_label, value) => {
    expect(() => assertBackoff('backoff', value)).not.toThrow();
  });

  it.each<[string, unknown]>([
    ['a negative delay', -1],
    ['a fractional delay', 1.5],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['more than a year', YEAR_MS + 1],
    ['a numeric string', '1000'],
    ['null', null],
    ['a boolean', true],
    ['an empty list', []],
    ['a list with a negative delay', [100, -5]],
    ['a list with a string', [100, '200']],
    ['a sparse list', [100, , 300]], // eslint-disable-line no-sparse-arrays
    ['an unknown type', { type: 'linear', delay: 100 }],
    ['exponential without delay', { type: 'exponential' }],
    ['exponential with a negative delay', { type: 'exponential', delay: -1 }],
    ['exponential with a fractional cap', { type: 'exponential', delay: 1, maxDelay: 2.5 }],
    ['exponential with a cap below its delay', { type: 'exponential', delay: 1000, maxDelay: 10 }],
    ['exponential with jitter above 1', { type: 'exponential', delay: 1, jitter: 1.5 }],
    ['exponential with negative jitter', { type: 'exponential', delay: 1, jitter: -0.1 }],
    ['exponential with NaN jitter', { type: 'exponential', delay: 1, jitter: Number.NaN }],
    ['exponential with a misspelled key', { type: 'exponential', delay: 100, max: 1000 }],
  ])('refuses %s with InvalidOptionError naming the option', (_label, value) => {
    let caught: unknown;
    try {
      assertBackoff('@ShouldQueue backoff on Mailer.send', value);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidOptionError);
    const error = caught as InvalidOptionError;
    expect(error.code).toBe('EVENTS_INVALID_OPTION');
    expect(error.option).toBe('@ShouldQueue backoff on Mailer.send');
    expect(error.message).toContain('"@ShouldQueue backoff on Mailer.send"');
    expect(error.message).toMatch(/expected .*ms/);
  });
});
