import type { StandardSchemaV1 } from '@standard-schema/spec';
import { EventValidationError, type EventViolation } from '../errors/event-validation.error.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import type { JobFailure } from '../queue/queue-job.js';
import type { EventEnvelope } from './event-envelope.js';

/** A schema of any library implementing Standard Schema (zod, valibot, arktype, ...). */
export type EventSchema<Output = unknown> = StandardSchemaV1<unknown, Output>;

/** The type a schema produces (after transforms): what listeners receive. */
export type SchemaOutput<S extends StandardSchemaV1> = StandardSchemaV1.InferOutput<S>;

/**
 * Event map entries derived from schemas, so the type and the check cannot drift.
 *
 * @example
 * export const schemas = { 'user.registered': z.object({ email: z.email() }) };
 * declare module 'nestjs-events' {
 *   interface EventMap extends EventMapOf<typeof schemas> {}
 * }
 * EventsModule.forRoot({ schemas });
 */
export type EventMapOf<Schemas extends Readonly<Record<string, StandardSchemaV1>>> = {
  [K in keyof Schemas]: StandardSchemaV1.InferOutput<Schemas[K]>;
};

/**
 * What emits of those events accept (the schemas' input types), for `EventInputMap`: needed only
 * when a transform changes a type (a string emitted, a `Date` listened to).
 *
 * @example
 * declare module 'nestjs-events' {
 *   interface EventMap extends EventMapOf<typeof schemas> {}
 *   interface EventInputMap extends EventInputMapOf<typeof schemas> {}
 * }
 */
export type EventInputMapOf<Schemas extends Readonly<Record<string, StandardSchemaV1>>> = {
  [K in keyof Schemas]: StandardSchemaV1.InferInput<Schemas[K]>;
};

/** True for a Standard Schema (an object with a `~standard` property carrying `validate`). */
export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return false;
  const props = (value as { '~standard'?: { validate?: unknown } })['~standard'];
  return typeof props === 'object' && props !== null && typeof props.validate === 'function';
}

/** The `static schema` of an event class, if it declares a Standard Schema there. */
export function classSchemaOf(eventClass: Function): StandardSchemaV1 | undefined {
  const schema = Object.prototype.hasOwnProperty.call(eventClass, 'schema')
    ? (eventClass as { schema?: unknown }).schema
    : undefined;
  return isStandardSchema(schema) ? schema : undefined;
}

function pathOf(issue: StandardSchemaV1.Issue): string {
  return (issue.path ?? [])
    .map((segment) =>
      String(typeof segment === 'object' && segment !== null ? segment.key : segment),
    )
    .join('.');
}

/** What a schema said of a payload: its output, or the violations. */
export type SchemaOutcome =
  | { readonly value: unknown; readonly violations?: undefined }
  | { readonly violations: EventViolation[] };

function outcomeOf(result: StandardSchemaV1.Result<unknown>): SchemaOutcome {
  if (result.issues) {
    return {
      violations: result.issues.map((issue) => ({ path: pathOf(issue), message: issue.message })),
    };
  }
  return { value: result.value };
}

/**
 * Runs a schema. A synchronous schema answers at once (no promise is created: events with a sync
 * schema keep the synchronous emit path); one that answers with a promise (async refinements or
 * transforms) gives a promise of its outcome, which the caller awaits before anything is stored
 * or runs.
 */
export function runSchema(
  schema: StandardSchemaV1,
  data: unknown,
): SchemaOutcome | Promise<SchemaOutcome> {
  const result = schema['~standard'].validate(data);
  if (result instanceof Promise) return result.then(outcomeOf);
  // A thenable that is not a native promise: normalized, so callers test `instanceof Promise`.
  if (typeof (result as { then?: unknown }).then === 'function') {
    return Promise.resolve(result).then(outcomeOf);
  }
  return outcomeOf(result);
}

/**
 * What the queue carries of an event whose payload went through a schema: the payload the schema
 * accepted (the emit's input), not its output. The worker runs the schema on it again and hands
 * the output to the handler, so transforms that change the type (a string to a `Date`) work on
 * both transports, and a job that no longer fits still fails the schema. Keyed by the envelope
 * that carries the output; events without a schema have no entry.
 */
const wireForms = new WeakMap<EventEnvelope, { readonly data: unknown }>();

/** Remembers that `envelope.data` is a schema's output of `input`. Returns `envelope`. */
export function rememberWireForm<E extends EventEnvelope>(envelope: E, input: unknown): E {
  wireForms.set(envelope, { data: input });
  return envelope;
}

/** The envelope as a queue stores it: its schema's input when it has one, else itself. */
export function wireEnvelope(envelope: EventEnvelope): EventEnvelope {
  const wire = wireForms.get(envelope);
  return wire === undefined ? envelope : { ...envelope, data: wire.data };
}

/** The schema that checks a queued event: by name (`forRoot`, `bus.addValidator`), or its class's. */
export type SchemaLookup = (name: string) => StandardSchemaV1 | undefined;

function failureOf(name: string, outcome: SchemaOutcome): JobFailure | undefined {
  if (!outcome.violations) return undefined;
  return {
    reason: 'invalid-payload',
    message: new EventValidationError(name, outcome.violations).message,
  };
}

/**
 * The worker's check of a queued job's payload, before its handler runs: the event's schema
 * must accept it. Returns the envelope carrying the schema's output (a named event; a class event
 * keeps its instance, which the schema checks), or the dead-letter failure (`invalid-payload`) of
 * a job that no longer fits (emitted by an older producer, or stored before the schema changed).
 * An async schema gives a promise; events without a schema cost one lookup and come back as they
 * are, synchronously.
 */
export function checkQueuedPayload(
  envelope: EventEnvelope,
  schemaOf: SchemaLookup,
): EventEnvelope | JobFailure | Promise<EventEnvelope | JobFailure> {
  const data: unknown = envelope.data;
  const isInstance =
    typeof data === 'object' && data !== null && Object.getPrototypeOf(data) !== Object.prototype;
  const schema =
    schemaOf(envelope.name) ??
    (isInstance ? classSchemaOf((data as object).constructor) : undefined);
  if (schema === undefined) return envelope;
  const settle = (outcome: SchemaOutcome): EventEnvelope | JobFailure =>
    failureOf(envelope.name, outcome) ??
    (isInstance
      ? envelope
      : rememberWireForm({ ...envelope, data: (outcome as { value: unknown }).value }, data));
  const invalid = (error: unknown): JobFailure => ({
    reason: 'invalid-payload',
    message: `The schema of "${envelope.name}" threw: ${String(error)}`,
  });
  let outcome: SchemaOutcome | Promise<SchemaOutcome>;
  try {
    outcome = runSchema(schema, data);
  } catch (error) {
    return invalid(error);
  }
  return outcome instanceof Promise ? outcome.then(settle, invalid) : settle(outcome);
}

/** Validates the `schemas` option: event names to Standard Schemas. */
export function resolveSchemas(value: unknown): ReadonlyMap<string, StandardSchemaV1> {
  const schemas = new Map<string, StandardSchemaV1>();
  if (value === undefined) return schemas;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidOptionError(
      'schemas',
      value,
      'an object of event names to Standard Schemas (zod, valibot, arktype, ...)',
    );
  }
  for (const [name, schema] of Object.entries(value)) {
    if (!isStandardSchema(schema)) {
      throw new InvalidOptionError(
        `schemas.${name}`,
        schema,
        'a Standard Schema (zod, valibot, arktype, ... : an object with "~standard")',
      );
    }
    schemas.set(name, schema);
  }
  return schemas;
}
