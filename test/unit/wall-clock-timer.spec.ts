import { afterEach, describe, expect, it, vi } from 'vitest';
import { WallClockTimer } from '../../lib/wall-clock-timer.js';

describe('WallClockTimer', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('does not run before its due time by Date.now when the timer fires early by it', () => {
    vi.useFakeTimers();
    const start = Date.now();
    const fn = vi.fn();
    new WallClockTimer(start + 100, fn);
    // The loop's cached time ran ahead of the wall clock: the timer fires 5 ms early by Date.now.
    vi.setSystemTime(start - 5);
    vi.advanceTimersByTime(100);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(5);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(Date.now()).toBeGreaterThanOrEqual(start + 100);
  });

  it('runs once at its due time and never after cancel', () => {
    vi.useFakeTimers();
    const ran = vi.fn();
    const cancelled = vi.fn();
    new WallClockTimer(Date.now() + 50, ran);
    const timer = new WallClockTimer(Date.now() + 50, cancelled);
    timer.cancel();
    vi.advanceTimersByTime(1000);
    expect(ran).toHaveBeenCalledTimes(1);
    expect(cancelled).not.toHaveBeenCalled();
    timer.cancel();
  });
});
