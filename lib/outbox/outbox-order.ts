/**
 * The rows that may go now, in order: a row of an ordering key waits when it is blocked (an
 * earlier row of its key waits elsewhere) or when an earlier row of its key in this list waits.
 */
export function inKeyOrder<R>(
  rows: readonly R[],
  keyOf: (row: R) => string | null,
  isBlocked: (row: R) => boolean,
): R[] {
  const blockedKeys = new Set<string>();
  return rows.filter((row) => {
    const key = keyOf(row);
    if (key === null || (!isBlocked(row) && !blockedKeys.has(key))) return true;
    blockedKeys.add(key);
    return false;
  });
}
