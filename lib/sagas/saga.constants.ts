/** Metadata key: the `@Saga` members of a provider class (an array, on the class). */
export const SAGA_METADATA = 'nestjs-events:saga';
/** Metadata key: the `@OrchestratedSaga` options of a class. */
export const ORCHESTRATED_SAGA_METADATA = 'nestjs-events:orchestrated-saga';
/** Metadata key: the `@SagaStep` methods of a class, in declaration order (an array, on the class). */
export const SAGA_STEPS_METADATA = 'nestjs-events:saga-steps';
/** DI token of the saga store picked for this application. */
export const SAGA_STORE = Symbol('SAGA_STORE');
