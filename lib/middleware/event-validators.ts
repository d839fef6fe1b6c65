import { createRequire } from 'node:module';
import { EventValidationError, type EventViolation } from '../errors/event-validation.error.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import {
  classSchemaOf,
  isStandardSchema,
  runSchema,
  type EventSchema,
  type SchemaOutcome,
} from '../event/event-schema.js';

/** Metadata key: the validator given to an event class by `@ValidateEvent`. */
export const VALIDATE_EVENT_METADATA = 'nestjs-events:validate-event';

/**
 * What a validator returns: nothing, `true` or `[]` for a valid payload; `false`, or a list of
 * violations (messages, or `{ path, message }`), for an invalid one.
 */
export type EventValidationResult =
  | boolean
  | undefined
  | void
  | readonly (string | { readonly path?: string; readonly message: string })[];

/**
 * Checks an event payload before `emit` delivers it (the event instance for class events).
 * Synchronous: it runs before the envelope exists.
 */
export type EventValidator<T = unknown> = (data: T) => EventValidationResult;

/** The part of class-validator this library uses, loaded only when the application has it. */
interface ClassValidatorApi {
  validateSync(object: object): ClassValidatorError[];
  getMetadataStorage(): {
    getTargetValidationMetadatas(
      target: Function,
      schema: string,
      always: boolean,
      strictGroups: boolean,
    ): unknown[];
  };
}

/** The shape of a class-validator `ValidationError`. */
export interface ClassValidatorError {
  readonly property: string;
  readonly constraints?: Record<string, string>;
  readonly children?: readonly ClassValidatorError[];
}

/** A class's check: its violations, or a promise of them when its schema is async. */
type Check = (data: unknown) => EventViolation[] | Promise<EventViolation[]>;

let classValidator: ClassValidatorApi | null | undefined;

/**
 * class-validator, if the application uses it. Its decorators create a global metadata store
 * when a decorated class is defined, so an app without it (or without decorated classes) never
 * loads the package; it is an optional peer, never a dependency.
 */
function loadClassValidator(): ClassValidatorApi | undefined {
  if (classValidator !== undefined) return classValidator ?? undefined;
  if (!(globalThis as { classValidatorMetadataStorage?: unknown }).classValidatorMetadataStorage) {
    return undefined;
  }
  try {
    classValidator = createRequire(import.meta.url)('class-validator') as ClassValidatorApi;
  } catch {
    classValidator = null;
  }
  return classValidator ?? undefined;
}

/** class-validator errors as violations, nested properties joined with dots. */
export function flattenClassValidatorErrors(
  errors: readonly ClassValidatorError[],
  parent = '',
): EventViolation[] {
  const out: EventViolation[] = [];
  for (const error of errors) {
    const path = parent ? `${parent}.${error.property}` : error.property;
    for (const message of Object.values(error.constraints ?? {})) out.push({ path, message });
    if (error.children?.length) out.push(...flattenClassValidatorErrors(error.children, path));
  }
  return out;
}

function toViolations(eventName: string, result: EventValidationResult): EventViolation[] {
  if (result === undefined || result === true) return [];
  if (result === false) return [{ path: '', message: 'refused by its validator' }];
  if (Array.isArray(result)) {
    return (result as readonly unknown[]).map((item) => {
      if (typeof item === 'string') return { path: '', message: item };
      if (item !== null && typeof item === 'object' && 'message' in item) {
        const { path, message } = item as { path?: unknown; message: unknown };
        return { path: typeof path === 'string' ? path : '', message: String(message) };
      }
      throw new InvalidOptionError(
        `the validator of "${eventName}"`,
        item,
        'violations as strings or { path, message } objects',
      );
    });
  }
  throw new InvalidOptionError(
    `the validator of "${eventName}"`,
    result,
    'true, false, undefined or a list of violations',
  );
}

/**
 * The emit-side validation of one bus: validators by event name (`bus.addValidator`) and by event
 * class (`@ValidateEvent`, class-validator decorators). What a class needs is worked out once and
 * cached; events without a validator cost one `WeakMap` lookup (class events) or nothing (names,
 * while no named validator exists).
 */
export class EventValidators {
  private readonly named = new Map<string, EventValidator[]>();
  private readonly schemas = new Map<string, EventSchema>();
  private readonly byClass = new WeakMap<Function, Check | null>();

  /**
   * Whether any validator by name exists (the bus skips `checkNamed` otherwise). A field kept by
   * `add` and the removers, not a getter: the emit reads it every time, inlined.
   */
  hasNamed = false;

  private countNamed(): void {
    this.hasNamed = this.named.size > 0 || this.schemas.size > 0;
  }

  /** Adds a validator of events named `name`; returns the function that removes it. */
  add(name: string, validator: EventValidator | EventSchema): () => void {
    if (isStandardSchema(validator)) return this.addSchema(name, validator);
    if (typeof validator !== 'function') {
      throw new InvalidOptionError(
        `validator of "${name}"`,
        validator,
        'a function (data) => violations',
      );
    }
    const list = [...(this.named.get(name) ?? []), validator];
    this.named.set(name, list);
    this.countNamed();
    return () => {
      const left = (this.named.get(name) ?? []).filter((v) => v !== validator);
      if (left.length > 0) this.named.set(name, left);
      else this.named.delete(name);
      this.countNamed();
    };
  }

  /** The schema of events named `name` (`forRoot({ schemas })`, `addValidator`), if any. */
  schemaOf(name: string): EventSchema | undefined {
    return this.schemas.get(name);
  }

  /**
   * Validates the payload of an event emitted by name; returns what listeners get: the schema's
   * output when the name has a schema, else `data` itself. A schema that answers with a promise
   * gives a promise (nothing else does: sync schemas stay synchronous).
   * @throws EventValidationError listing every violation of the named validators and schema
   * (the promise rejects with it for an async schema).
   */
  checkNamed(name: string, data: unknown, found: EventViolation[] = []): unknown {
    const schema = this.schemas.get(name);
    if (schema === undefined) return this.finishNamed(name, data, found);
    const outcome = runSchema(schema, data);
    if (outcome instanceof Promise) {
      return outcome.then((settled) => this.finishNamed(name, data, found, settled));
    }
    return this.finishNamed(name, data, found, outcome);
  }

  /** The named validators (on the schema's output), then the verdict. */
  private finishNamed(
    name: string,
    data: unknown,
    found: EventViolation[],
    outcome?: SchemaOutcome,
  ): unknown {
    let value = data;
    if (outcome !== undefined) {
      if (outcome.violations) found.push(...outcome.violations);
      else value = outcome.value;
    }
    const list = this.named.get(name);
    if (list !== undefined)
      for (const validate of list) found.push(...toViolations(name, validate(value)));
    if (found.length > 0) throw new EventValidationError(name, found);
    return value;
  }

  /** Adds the schema of events named `name` (one per name); returns the function that removes it. */
  private addSchema(name: string, schema: EventSchema): () => void {
    if (this.schemas.has(name)) {
      throw new InvalidOptionError(`schema of "${name}"`, schema, 'one schema per event name');
    }
    this.schemas.set(name, schema);
    this.countNamed();
    return () => {
      if (this.schemas.get(name) === schema) this.schemas.delete(name);
      this.countNamed();
    };
  }

  /**
   * @throws EventValidationError listing every violation of the class's and the name's
   * validators; a promise (rejecting with it) when the class's schema is async.
   */
  checkInstance(name: string, event: object): void | Promise<void> {
    const eventClass = event.constructor;
    let check = this.byClass.get(eventClass);
    if (check === undefined) {
      check = this.classCheck(eventClass, name);
      this.byClass.set(eventClass, check);
    }
    if (check === null && !this.hasNamed) return;
    const found = check === null ? [] : check(event);
    if (found instanceof Promise) {
      return found.then((violations) => void this.checkNamed(name, event, violations));
    }
    // A class event's listeners get the instance: only the name's verdict matters here.
    const named = this.checkNamed(name, event, found);
    if (named instanceof Promise) return named.then(() => undefined);
  }

  private classCheck(eventClass: Function, name: string): Check | null {
    const own = Reflect.getMetadata(VALIDATE_EVENT_METADATA, eventClass) as
      EventValidator | undefined;
    const schema = classSchemaOf(eventClass);
    const cv = loadClassValidator();
    let hasDecorators = false;
    if (cv) {
      try {
        hasDecorators =
          cv.getMetadataStorage().getTargetValidationMetadatas(eventClass, '', false, false)
            .length > 0;
      } catch {
        // Another class-validator version: validate every instance rather than none.
        hasDecorators = true;
      }
    }
    if (!own && !hasDecorators && !schema) return null;
    return (data) => {
      const others = (): EventViolation[] => [
        ...(own ? toViolations(name, own(data)) : []),
        ...(hasDecorators && cv
          ? flattenClassValidatorErrors(cv.validateSync(data as object))
          : []),
      ];
      if (!schema) return others();
      const outcome = runSchema(schema, data);
      if (outcome instanceof Promise) {
        return outcome.then((settled) => [...(settled.violations ?? []), ...others()]);
      }
      return [...(outcome.violations ?? []), ...others()];
    };
  }
}
