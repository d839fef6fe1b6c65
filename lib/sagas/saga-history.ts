import { SagaDefinitionError } from '../errors/saga-definition.error.js';
import type { ResolvedSaga, SagaInfo, SagaRecord } from './saga-definition.js';

/**
 * A stored record for a saga as `get` reported it (recorded from a running system), checked
 * against the saga's current code: every step of its history must still exist, the completed
 * ones in the same order, and its current step too. A change that would strand sagas already
 * running (a step renamed, removed or moved before one they completed) is refused here.
 *
 * @throws SagaDefinitionError naming what no longer matches.
 */
export function recordFromHistory(
  saga: ResolvedSaga,
  info: SagaInfo,
  data: string,
  now: number,
): SagaRecord {
  const where = `${saga.name} (recorded "${info.id}")`;
  const methods = saga.steps.map((s) => s.method);
  const completed = info.history.filter((h) => h.outcome === 'completed').map((h) => h.step);
  for (const entry of info.history) {
    if (!methods.includes(entry.step)) {
      throw new SagaDefinitionError(
        where,
        `its history has step ${entry.step}, which the saga no longer has (steps: ${methods.join(', ')})`,
      );
    }
  }
  completed.forEach((step, index) => {
    if (methods[index] !== step) {
      throw new SagaDefinitionError(
        where,
        `it completed ${completed.join(', ')}, but the saga now runs ${methods.slice(0, completed.length).join(', ')} first`,
      );
    }
  });
  let step: number;
  if (info.status === 'completed') step = saga.steps.length;
  else if (info.status === 'compensated') step = -1;
  else {
    step = info.step === undefined ? -1 : methods.indexOf(info.step);
    if (step < 0) {
      throw new SagaDefinitionError(
        where,
        `it is ${info.status} at step ${String(info.step)}, which the saga no longer has`,
      );
    }
    const compensate = saga.steps[step].compensate;
    if (info.status === 'compensating' && compensate === undefined) {
      throw new SagaDefinitionError(
        where,
        `it is compensating step ${String(info.step)}, which no longer has a compensate method`,
      );
    }
  }
  return {
    id: info.id,
    name: saga.name,
    status: info.status,
    step,
    version: 0,
    data,
    history: info.history,
    error: info.error,
    inbox: {},
    createdAt: info.createdAt,
    updatedAt: now,
  };
}
