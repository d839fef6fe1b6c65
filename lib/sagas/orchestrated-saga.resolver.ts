import type { ResolvedEventsOptions } from '../events.options.js';
import { SagaDefinitionError } from '../errors/saga-definition.error.js';
import { ORCHESTRATED_SAGA_METADATA, SAGA_STEPS_METADATA } from './saga.constants.js';
import type { OrchestratedSagaOptions, SagaStepMetadata } from './orchestrated-saga.decorator.js';
import type { ResolvedSaga, ResolvedSagaStep } from './saga-definition.js';

/**
 * The orchestrated saga a provider instance declares, checked, or undefined when its class has no
 * `@OrchestratedSaga`.
 *
 * @throws SagaDefinitionError at boot: no steps, a `compensate` naming no method, `startOn` or a
 *   `waitFor` step without `key`, `@SagaStep` on a class without `@OrchestratedSaga`.
 */
export function resolveOrchestratedSaga(
  instance: Record<string | symbol, unknown>,
  defaults: ResolvedEventsOptions['defaults'],
): ResolvedSaga | undefined {
  const classRef = instance.constructor;
  const options = Reflect.getMetadata(ORCHESTRATED_SAGA_METADATA, classRef) as
    (OrchestratedSagaOptions & { startOn: string[] }) | undefined;
  const recorded = collectSteps(classRef);
  if (options === undefined) {
    if (recorded.length > 0) {
      throw new SagaDefinitionError(
        classRef.name,
        '@SagaStep is used in a class without @OrchestratedSaga',
      );
    }
    return undefined;
  }
  const where = `${options.name} (${classRef.name})`;
  if (recorded.length === 0) throw new SagaDefinitionError(where, 'it has no @SagaStep method');
  const steps = recorded.map(({ method, options: step }, index): ResolvedSagaStep => {
    if (step.compensate !== undefined && typeof instance[step.compensate] !== 'function') {
      throw new SagaDefinitionError(
        where,
        `step ${method} has compensate "${step.compensate}", which names no method of the class`,
      );
    }
    if (step.waitFor !== undefined && options.key === undefined) {
      throw new SagaDefinitionError(
        where,
        `step ${method} waits for "${step.waitFor}" but the saga has no key (event) => sagaId`,
      );
    }
    return {
      index,
      method,
      compensate: step.compensate,
      tries: step.tries ?? defaults.tries,
      backoff: step.backoff ?? defaults.backoff,
      timeout: step.timeout ?? 0,
      waitFor: step.waitFor,
    };
  });
  if (options.startOn.length > 0 && options.key === undefined) {
    throw new SagaDefinitionError(where, 'startOn needs key (event) => sagaId');
  }
  return {
    name: options.name,
    classRef,
    instance: instance as Record<string, unknown>,
    queue: options.queue ?? 'sagas',
    timeout: options.timeout ?? 0,
    startOn: options.startOn,
    key: options.key,
    steps,
  };
}

/** Steps of the class and its parents, parents' first, in declaration order. */
function collectSteps(classRef: Function): SagaStepMetadata[] {
  const chain: Function[] = [];
  for (
    let c: unknown = classRef;
    typeof c === 'function' && c !== Function.prototype;
    c = Object.getPrototypeOf(c)
  ) {
    chain.unshift(c);
  }
  return chain.flatMap(
    (c) => (Reflect.getOwnMetadata(SAGA_STEPS_METADATA, c) as SagaStepMetadata[] | undefined) ?? [],
  );
}
