/**
 * True for a thenable (Promises/A+: an object or a function with a `then` method), what `await`
 * would wait for. Callers use it to keep a synchronous result on the synchronous path (no promise
 * is made for it) and to wait for anything else.
 */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
