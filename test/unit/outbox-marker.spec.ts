import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { markLingerMs, OutboxMarker } from '../../lib/outbox/outbox.marker.js';
import { OutboxSql } from '../../lib/outbox/outbox-sql.js';

/** A marker whose statements are recorded (and answered at once). */
function recordingMarker(lingerMs: number) {
  const statements: string[] = [];
  const marker = new OutboxMarker(
    new OutboxSql('events_outbox', 0),
    (text) => {
      statements.push(text);
      return Promise.resolve([]);
    },
    lingerMs,
  );
  return { marker, statements };
}

/** The row ids each recorded DELETE names. */
const idsOf = (statements: string[]) =>
  statements.map((s) => /WHERE id IN \(([\d,]+)\)/.exec(s)?.[1].split(','));

describe('OutboxMarker', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('writes the marks of dispatches made one after another within the linger in one statement', async () => {
    const { marker, statements } = recordingMarker(50);
    marker.mark(['1']);
    await vi.advanceTimersByTimeAsync(10);
    marker.mark(['2', '3']);
    await vi.advanceTimersByTimeAsync(10);
    marker.mark(['4']);
    expect(statements).toEqual([]);
    // Not yet written: the relay of this process and the ordering checks still skip them.
    expect([...marker.unmarked]).toEqual(['1', '2', '3', '4']);
    await vi.advanceTimersByTimeAsync(30);
    expect(idsOf(statements)).toEqual([['1', '2', '3', '4']]);
    expect(marker.unmarked.size).toBe(0);
  });

  it('starts a new linger for marks made after a statement was written', async () => {
    const { marker, statements } = recordingMarker(50);
    marker.mark(['1']);
    await vi.advanceTimersByTimeAsync(50);
    marker.mark(['2']);
    await vi.advanceTimersByTimeAsync(49);
    expect(idsOf(statements)).toEqual([['1']]);
    await vi.advanceTimersByTimeAsync(1);
    expect(idsOf(statements)).toEqual([['1'], ['2']]);
  });

  it('drain writes pending marks at once, without waiting for the linger', async () => {
    const { marker, statements } = recordingMarker(60_000);
    marker.mark(['7', '8']);
    await marker.drain();
    expect(idsOf(statements)).toEqual([['7', '8']]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('writes at once with no linger (handoffMs under 10 ms)', () => {
    expect(markLingerMs(0)).toBe(0);
    expect(markLingerMs(9)).toBe(0);
    const { marker, statements } = recordingMarker(markLingerMs(0));
    marker.mark(['5']);
    expect(idsOf(statements)).toEqual([['5']]);
  });

  it('lingers a tenth of handoffMs at most, and 50 ms at most', () => {
    expect(markLingerMs(100)).toBe(10);
    expect(markLingerMs(5000)).toBe(50);
  });
});
