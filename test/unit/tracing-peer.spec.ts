import { Injectable } from '@nestjs/common';
import { describe, expect, it, vi } from 'vitest';
import { EventBus, MissingPeerDependencyError, OnEvent, ShouldQueue } from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';

// As if the optional peer were not installed.
vi.mock('@opentelemetry/api', () => {
  throw new Error("Cannot find package '@opentelemetry/api'");
});

@Injectable()
class Queued {
  @OnEvent('peer.job')
  @ShouldQueue({ queue: 'peer' })
  handle(): void {}
}

describe('tracing without @opentelemetry/api', () => {
  it('fails the boot, naming the package, when tracing is asked for', async () => {
    const boot = createTestApp({ providers: [Queued] }, { tracing: true });
    await expect(boot).rejects.toThrow(MissingPeerDependencyError);
    await expect(boot).rejects.toThrow(/npm install @opentelemetry\/api/);
    await expect(createTestApp({}, { tracing: { tracerName: 'x' } })).rejects.toThrow(
      MissingPeerDependencyError,
    );
  });

  it('runs without spans when tracing is left out', async () => {
    const app = await createTestApp({ providers: [Queued] });
    const envelope = await app.get(EventBus).emit('peer.job', {});
    expect(envelope.metadata.traceparent).toBeUndefined();
    await app.close();
  });
});
