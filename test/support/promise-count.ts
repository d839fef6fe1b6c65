import { createHook } from 'node:async_hooks';

/** Counts the promises made from now on; `stop()` ends the count and returns it. */
function countPromises(): { stop(): number } {
  let made = 0;
  const hook = createHook({
    init(_id, type) {
      if (type === 'PROMISE') made++;
    },
  }).enable();
  return {
    stop: () => {
      hook.disable();
      return made;
    },
  };
}

/** How many promises `fn` creates while it runs (synchronously). */
export function promisesMadeBy(fn: () => unknown): number {
  const count = countPromises();
  try {
    fn();
  } finally {
    count.stop();
  }
  return count.stop();
}

/**
 * How many promises `fn`, and what it starts, create until the promise it returns settles; and
 * its value. Count only where nothing else runs meanwhile.
 */
export async function promisesUntilSettled<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const count = countPromises();
  try {
    const value = await fn();
    return [count.stop(), value];
  } finally {
    count.stop();
  }
}
