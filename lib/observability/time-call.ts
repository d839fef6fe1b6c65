import { isThenable } from '../is-thenable.js';

/**
 * Calls `call` and tells `done` how long it took (ms) and whether it failed, without changing
 * what the caller sees: a sync result or throw comes back as is (no promise is made for it); a
 * returned promise is timed until it settles, and the caller gets that same promise.
 */
export function timeCall(
  call: () => unknown,
  done: (durationMs: number, isFailed: boolean, error?: unknown) => void,
): unknown {
  const startedAt = performance.now();
  let result: unknown;
  try {
    result = call();
  } catch (error) {
    done(performance.now() - startedAt, true, error);
    throw error;
  }
  if (!isThenable(result)) {
    done(performance.now() - startedAt, false);
    return result;
  }
  result.then(
    () => done(performance.now() - startedAt, false),
    (error: unknown) => done(performance.now() - startedAt, true, error),
  );
  return result;
}
