import { BatchItemsFailedError } from '../../errors/batch-items-failed.error.js';

/**
 * The items of a batch (by event id, `ids`) that a call failed with `error`: those a
 * `BatchItemsFailedError` names, or all of them for any other error (the batch fails as a
 * unit). A `BatchItemsFailedError` naming an event that is not in the batch fails the whole
 * batch with a message that says so.
 */
export function failedItems(
  ids: readonly string[],
  error: unknown,
): Map<string, { readonly error: unknown }> {
  const failed = new Map<string, { readonly error: unknown }>();
  if (error instanceof BatchItemsFailedError) {
    const known = new Set(ids);
    const unknown = error.failures.find((failure) => !known.has(failure.id));
    if (unknown === undefined) {
      for (const failure of error.failures) failed.set(failure.id, { error: failure.error });
      return failed;
    }
    error = new Error(
      `BatchItemsFailedError names event ${String(unknown.id)}, which is not in the batch: the whole batch failed`,
      { cause: error },
    );
  }
  for (const id of ids) failed.set(id, { error });
  return failed;
}
