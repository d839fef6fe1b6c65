import { Logger } from '@nestjs/common';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { EventBus } from '../../lib/bus/event-bus.js';
import type { ListenerRegistry } from '../../lib/discovery/listener.registry.js';
import type { ScheduleStore } from '../../lib/scheduling/schedule-store.interface.js';
import { ScheduleRunner } from '../../lib/scheduling/schedule.runner.js';

describe('ScheduleRunner while its store fails', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  it('logs the first failure and every 20th, not every retry, and its recovery once', async () => {
    vi.useFakeTimers();
    const errors = vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const logs = vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    let calls = 0;
    const store = {
      claim: () => {
        calls++;
        return calls <= 45
          ? Promise.reject(new Error('Redis unreachable'))
          : Promise.resolve({ claimed: [], now: Date.now(), nextDue: undefined });
      },
    } as unknown as ScheduleStore;
    const runner = new ScheduleRunner(store, {} as EventBus, {} as ListenerRegistry, 30_000);
    runner.start();
    for (let i = 0; i < 100 && calls <= 46; i++) await vi.advanceTimersByTimeAsync(1000);
    await runner.stop();
    expect(errors.mock.calls.map(([message]) => String(message))).toEqual([
      'Claiming due schedules failed (1x), retrying: Redis unreachable',
      'Claiming due schedules failed (20x), retrying: Redis unreachable',
      'Claiming due schedules failed (40x), retrying: Redis unreachable',
    ]);
    expect(logs.mock.calls.map(([message]) => String(message))).toEqual([
      'Claiming due schedules again, after 45 failed attempt(s)',
    ]);
  });
});
