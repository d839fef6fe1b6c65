import type { EventEnvelope } from '../event/event-envelope.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { assertInteger, assertName } from '../option-assertions.js';
import { parsePattern } from '../discovery/pattern-trie.js';
import { assertBackoff, type BackoffOption } from '../queue/backoff.js';
import { ORCHESTRATED_SAGA_METADATA, SAGA_STEPS_METADATA } from './saga.constants.js';

/** Options of `@OrchestratedSaga`. */
export interface OrchestratedSagaOptions {
  /** The saga's name: letters, digits, `_ - :`; its lifecycle events are `saga.<name>.*`. */
  name: string;
  /**
   * The saga id an event belongs to: the id of the saga a `startOn` event starts, and of the
   * saga a `waitFor` event resumes. Required with `startOn` or a `waitFor` step.
   * @default undefined
   */
  key?: (event: EventEnvelope) => string;
  /**
   * Pattern(s) of events that each start one saga, with the event's data as input and
   * `key(event)` as id (a duplicate event starts nothing).
   * @default undefined
   */
  startOn?: string | string[];
  /** The queue that runs the steps. @default 'sagas' */
  queue?: string;
  /** A durable deadline (ms from the start): past it, the saga compensates. 0: none. @default 0 */
  timeout?: number;
}

/** Options of `@SagaStep`. */
export interface SagaStepOptions {
  /** The name of the method of the same class that undoes this step. @default undefined */
  compensate?: string;
  /** Attempts in total of the step (and of its compensation), the first included. @default defaults.tries */
  tries?: number;
  /** The wait before each retry. @default defaults.backoff */
  backoff?: BackoffOption;
  /**
   * Per-attempt time limit (ms) of the step; for a `waitFor` step, how long it waits for its
   * event before the step fails. 0: none. @default 0
   */
  timeout?: number;
  /** The event (pattern) this step waits for; it runs once one arrives with `key(event)` = id. */
  waitFor?: string;
}

/** One `@SagaStep` as recorded. */
export interface SagaStepMetadata {
  readonly method: string;
  readonly options: SagaStepOptions;
}

const SAGA_KEYS = ['name', 'key', 'startOn', 'queue', 'timeout'];
const STEP_KEYS = ['compensate', 'tries', 'backoff', 'timeout', 'waitFor'];

function assertKeys(where: string, o: Record<string, unknown>, allowed: string[]): void {
  for (const key of Object.keys(o)) {
    if (!allowed.includes(key)) {
      throw new InvalidOptionError(
        `${where} ${key}`,
        o[key],
        `no such option (allowed: ${allowed.join(', ')})`,
      );
    }
  }
}

function assertObject(where: string, options: unknown): asserts options is Record<string, unknown> {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new InvalidOptionError(where, options, 'an options object');
  }
}

/**
 * Declares an orchestrated saga: its `@SagaStep` methods run in declaration order, each as a
 * queued job with retries; when one fails for good, the `compensate` methods of the steps done
 * so far run in reverse order. State is stored after each step. Start it with `SagaManager`.
 *
 * @example
 * @OrchestratedSaga({ name: 'order', startOn: 'order.placed', key: (e) => e.data.orderId })
 * @Injectable()
 * class OrderSaga {
 *   @SagaStep({ compensate: 'release' }) async reserve(ctx: SagaStepContext) {}
 *   async release(ctx: SagaStepContext) {}
 * }
 */
export function OrchestratedSaga(options: OrchestratedSagaOptions): ClassDecorator {
  return (target) => {
    const where = `@OrchestratedSaga on ${target.name}`;
    assertObject(where, options);
    assertKeys(where, options as unknown as Record<string, unknown>, SAGA_KEYS);
    assertName(`${where} name`, options.name);
    if (options.name.includes('.')) {
      throw new InvalidOptionError(`${where} name`, options.name, 'a name without "."');
    }
    if (options.key !== undefined && typeof options.key !== 'function') {
      throw new InvalidOptionError(`${where} key`, options.key, 'a function (event) => id');
    }
    const startOn = options.startOn === undefined ? [] : [options.startOn].flat();
    for (const pattern of startOn) parsePattern(pattern, `${where} startOn`);
    if (options.queue !== undefined) assertName(`${where} queue`, options.queue);
    if (options.timeout !== undefined) assertInteger(`${where} timeout`, options.timeout, 0);
    Reflect.defineMetadata(ORCHESTRATED_SAGA_METADATA, { ...options, startOn }, target);
  };
}

/**
 * Marks a method of an `@OrchestratedSaga` class as a step. It is called with a
 * `SagaStepContext`; what it leaves in `ctx.state` is stored once it resolves.
 *
 * @example
 * @SagaStep({ compensate: 'refundPayment', tries: 5, backoff: { type: 'exponential', delay: 1000 } })
 * async processPayment(ctx: SagaStepContext<OrderInput, OrderState>) {}
 */
export function SagaStep(options: SagaStepOptions = {}): MethodDecorator {
  return (target, key) => {
    const where = `@SagaStep on ${target.constructor.name}.${String(key)}`;
    assertObject(where, options);
    assertKeys(where, options as Record<string, unknown>, STEP_KEYS);
    if (options.compensate !== undefined && typeof options.compensate !== 'string') {
      throw new InvalidOptionError(`${where} compensate`, options.compensate, 'a method name');
    }
    if (options.tries !== undefined) assertInteger(`${where} tries`, options.tries, 1, 1000);
    if (options.backoff !== undefined) assertBackoff(`${where} backoff`, options.backoff);
    if (options.timeout !== undefined) assertInteger(`${where} timeout`, options.timeout, 0);
    if (options.waitFor !== undefined) parsePattern(options.waitFor, `${where} waitFor`);
    const ctor = target.constructor;
    const steps = (Reflect.getOwnMetadata(SAGA_STEPS_METADATA, ctor) as SagaStepMetadata[]) ?? [];
    Reflect.defineMetadata(
      SAGA_STEPS_METADATA,
      [...steps, { method: String(key), options: { ...options } }],
      ctor,
    );
  };
}
