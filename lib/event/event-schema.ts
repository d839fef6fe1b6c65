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

/**
 * Runs a schema synchronously. An emit is validated before its envelope exists, so a schema
 * that answers with a promise (async refinements) is refused with `InvalidOptionError`.
 */
export function runSchema(
  eventName: string,
  schema: StandardSchemaV1,
  data: unknown,
): SchemaOutcome {
  const result = schema['~standard'].validate(data);
  if (result instanceof Promise) {
    result.catch(() => undefined);
    throw new InvalidOptionError(
      `the schema of "${eventName}"`,
      schema['~standard'].vendor,
      'a synchronous schema (no async refinements or transforms)',
    );
  }
  if (result.issues) {
    return {
      violations: result.issues.map((issue) => ({ path: pathOf(issue), message: issue.message })),
    };
  }
  return { value: result.value };
}

/** Validates `data` with `schema`; returns the schema's output. @throws EventValidationError */
export function parseWithSchema(
  eventName: string,
  schema: StandardSchemaV1,
  data: unknown,
): unknown {
  const outcome = runSchema(eventName, schema, data);
  if (outcome.violations) throw new EventValidationError(eventName, outcome.violations);
  return outcome.value;
}

/**
 * The worker's check of a queued job's payload, before its handler runs: the event's schema
 * (from `forRoot({ schemas })`, or the class's `static schema`) must accept it. Returns the
 * envelope carrying the schema's output, or the dead-letter failure (`invalid-payload`) of a
 * job that no longer fits (emitted by an older producer, or stored before the schema changed).
 * Events without a schema cost one lookup and come back as they are.
 */
export function checkQueuedPayload(
  envelope: EventEnvelope,
  schemas: ReadonlyMap<string, StandardSchemaV1>,
): EventEnvelope | JobFailure {
  const data: unknown = envelope.data;
  const isInstance =
    typeof data === 'object' && data !== null && Object.getPrototypeOf(data) !== Object.prototype;
  const schema =
    schemas.get(envelope.name) ??
    (isInstance ? classSchemaOf((data as object).constructor) : undefined);
  if (schema === undefined) return envelope;
  let outcome: SchemaOutcome;
  try {
    outcome = runSchema(envelope.name, schema, data);
  } catch (error) {
    return { reason: 'invalid-payload', message: String(error) };
  }
  if (outcome.violations) {
    return {
      reason: 'invalid-payload',
      message: new EventValidationError(envelope.name, outcome.violations).message,
    };
  }
  // A class event keeps its instance (the schema checks it); a named event gets the output.
  return isInstance ? envelope : { ...envelope, data: outcome.value };
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
