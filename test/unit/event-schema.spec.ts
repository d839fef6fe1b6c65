import type { StandardSchemaV1 } from '@standard-schema/spec';
import { describe, expect, it } from 'vitest';
import {
  checkQueuedPayload,
  rememberWireForm,
  runSchema,
  wireEnvelope,
} from '../../lib/event/event-schema.js';
import type { EventEnvelope } from '../../lib/event/event-envelope.js';

/** A hand-made Standard Schema: parses a number out of a string; `answer` wraps its result. */
function numberSchema(
  answer: (result: StandardSchemaV1.Result<number>) => unknown,
): StandardSchemaV1<string, number> {
  return {
    '~standard': {
      version: 1,
      vendor: 'test',
      validate: (value) =>
        answer(
          typeof value === 'string' && /^\d+$/.test(value)
            ? { value: Number(value) }
            : { issues: [{ message: 'not digits', path: [{ key: 'n' }] }] },
        ) as StandardSchemaV1.Result<number>,
    },
  };
}

const envelope = (data: unknown): EventEnvelope => ({
  id: 'e1',
  name: 'n.parsed',
  data,
  metadata: {},
  timestamp: 1,
});

describe('runSchema', () => {
  it('answers a sync schema at once, without a promise', () => {
    expect(
      runSchema(
        numberSchema((r) => r),
        '42',
      ),
    ).toEqual({ value: 42 });
    expect(
      runSchema(
        numberSchema((r) => r),
        'x',
      ),
    ).toEqual({
      violations: [{ path: 'n', message: 'not digits' }],
    });
  });

  it('gives a native promise for a schema answering with a promise or any thenable', async () => {
    const native = runSchema(
      numberSchema((r) => Promise.resolve(r)),
      '7',
    );
    expect(native).toBeInstanceOf(Promise);
    expect(await native).toEqual({ value: 7 });
    const thenable = runSchema(
      numberSchema((r) => ({ then: (resolve: (v: unknown) => void) => resolve(r) })),
      'x',
    );
    expect(thenable).toBeInstanceOf(Promise);
    expect(await thenable).toEqual({ violations: [{ path: 'n', message: 'not digits' }] });
  });
});

describe('checkQueuedPayload and the wire form', () => {
  const lookup = (schema: StandardSchemaV1) => (name: string) =>
    name === 'n.parsed' ? schema : undefined;

  it("hands the schema's output, remembering the input as the envelope's wire form", () => {
    const checked = checkQueuedPayload(envelope('42'), lookup(numberSchema((r) => r)));
    expect(checked).toMatchObject({ data: 42 });
    expect(wireEnvelope(checked as EventEnvelope).data).toBe('42');
  });

  it('awaits an async schema; a refused payload is an invalid-payload failure', async () => {
    const schema = numberSchema((r) => Promise.resolve(r));
    expect(await checkQueuedPayload(envelope('5'), lookup(schema))).toMatchObject({ data: 5 });
    expect(await checkQueuedPayload(envelope('x'), lookup(schema))).toMatchObject({
      reason: 'invalid-payload',
      message: expect.stringMatching(/n: not digits/),
    });
    const throwing = numberSchema(() => Promise.reject(new Error('directory down')));
    expect(await checkQueuedPayload(envelope('5'), lookup(throwing))).toMatchObject({
      reason: 'invalid-payload',
      message: expect.stringMatching(/directory down/),
    });
  });

  it('an envelope without a schema comes back as it is, and is its own wire form', () => {
    const plain = envelope({ a: 1 });
    expect(checkQueuedPayload(plain, () => undefined)).toBe(plain);
    expect(wireEnvelope(plain)).toBe(plain);
    const remembered = rememberWireForm(envelope(3), '3');
    expect(wireEnvelope(remembered)).toEqual(envelope('3'));
  });
});
