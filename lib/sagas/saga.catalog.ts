import { Injectable } from '@nestjs/common';
import { SagaDefinitionError } from '../errors/saga-definition.error.js';
import { UnknownSagaError } from '../errors/unknown-saga.error.js';
import type { ResolvedSaga } from './saga-definition.js';

/** The orchestrated sagas of the application, by name and by class. */
@Injectable()
export class SagaCatalog {
  private readonly byName = new Map<string, ResolvedSaga>();
  private readonly byClass = new Map<Function, ResolvedSaga>();

  add(saga: ResolvedSaga): void {
    const known = this.byName.get(saga.name);
    if (known) {
      throw new SagaDefinitionError(
        saga.name,
        `the name is declared by both ${known.classRef.name} and ${saga.classRef.name}`,
      );
    }
    this.byName.set(saga.name, saga);
    this.byClass.set(saga.classRef, saga);
  }

  /** @throws UnknownSagaError */
  resolve(sagaOrName: Function | string): ResolvedSaga {
    const saga =
      typeof sagaOrName === 'string' ? this.byName.get(sagaOrName) : this.byClass.get(sagaOrName);
    if (saga === undefined) throw new UnknownSagaError(sagaOrName, [...this.byName.keys()]);
    return saga;
  }

  get(name: string): ResolvedSaga | undefined {
    return this.byName.get(name);
  }

  all(): ResolvedSaga[] {
    return [...this.byName.values()];
  }
}
