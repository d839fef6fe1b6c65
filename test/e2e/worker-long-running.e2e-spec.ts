import { Injectable, Logger, type INestApplicationContext } from '@nestjs/common';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  EventBus,
  OnEvent,
  ShouldQueue,
  type EventEnvelope,
  type ListenerContext,
} from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';
import { waitFor } from '../support/wait-for.js';

@Injectable()
class NeverEnding {
  readonly started: string[] = [];

  /** No timeout, and it never settles by itself (it honours the shutdown abort). */
  @OnEvent('never.ends')
  @ShouldQueue({ queue: 'never' })
  handle(event: EventEnvelope, context: ListenerContext): Promise<void> {
    this.started.push(event.id);
    return new Promise((_, reject) => context.signal.addEventListener('abort', reject));
  }
}

let app: INestApplicationContext | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
  vi.restoreAllMocks();
});

describe('Worker: jobs that never end', () => {
  it('warns once per job that runs longer than worker.longRunningWarningMs', async () => {
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    app = await createTestApp(
      { providers: [NeverEnding] },
      { worker: { concurrency: 2, longRunningWarningMs: 100, shutdownTimeout: 50 } },
    );
    const bus = app.get(EventBus);
    const warningsAbout = (id: string): string[] =>
      warn.mock.calls.map(([m]) => String(m)).filter((m) => m.includes(id));
    const first = await bus.emit('never.ends', {});
    await waitFor(() => warningsAbout(first.id).length > 0, { message: 'a warning' });
    expect(warningsAbout(first.id)[0]).toMatch(/queue "never".*NeverEnding\.handle.*timeout/);

    // A second job, started later, warns too; by then the first one ran past many sweeps.
    const second = await bus.emit('never.ends', {});
    await waitFor(() => warningsAbout(second.id).length > 0, { message: 'a second warning' });
    expect(warningsAbout(first.id)).toHaveLength(1);
    expect(warningsAbout(second.id)).toHaveLength(1);
  });
});
