import { describe, expect, it } from 'vitest';
import { PayloadTooLargeError } from 'nestjs-events';
import { deserializeEnvelope, serializeEnvelope } from '../../lib/event/event.serializer.js';
import { sagaJobPayload, type SagaJobData } from '../../lib/sagas/saga-jobs.js';

/** What the serializer writes for a saga job's envelope. */
function viaSerializer(id: string, name: string, data: SagaJobData, at: number): string {
  return serializeEnvelope(
    {
      id,
      name,
      data: { sagaId: data.sagaId, version: data.version, index: data.index },
      metadata: { sagaId: data.sagaId, correlationId: data.sagaId },
      timestamp: at,
    },
    1 << 20,
  );
}

describe('sagaJobPayload', () => {
  it('writes what serializeEnvelope writes for the job', () => {
    for (const sagaId of ['o-1', 'with "quotes" and \\ slashes', 'üñí', '01HZ']) {
      const data = { sagaId, version: 7, index: 2 };
      const id = `${sagaId}:7:step`;
      const text = sagaJobPayload(id, 'saga.order.step', data, 1_700_000_000_123, 1 << 20);
      expect(text).toBe(viaSerializer(id, 'saga.order.step', data, 1_700_000_000_123));
      const envelope = deserializeEnvelope(text, () => undefined);
      expect(envelope).toMatchObject({
        id,
        name: 'saga.order.step',
        data,
        metadata: { sagaId, correlationId: sagaId },
        timestamp: 1_700_000_000_123,
      });
    }
  });

  it('keeps a payload near the size limit and refuses one past it', () => {
    const data = { sagaId: 'x'.repeat(150), version: 1, index: 0 };
    const id = `${data.sagaId}:1:step`;
    const near = sagaJobPayload(id, 'saga.long.step', data, 1, 2_000);
    expect(near).toBe(viaSerializer(id, 'saga.long.step', data, 1));
    expect(() => sagaJobPayload(id, 'saga.long.step', data, 1, 300)).toThrow(PayloadTooLargeError);
  });
});
