import type { ListenerDefinition } from '../discovery/listener-definition.js';

/** The queue names of resolved queued-listener lists, made once per list (the registry caches it). */
const names = new WeakMap<readonly ListenerDefinition[], readonly string[]>();

/**
 * The queue of each of `queued` (at the same index), as a traced emit names them: one array per
 * resolved listener list rather than one per emit (the registry hands out the same list for a
 * name until its listeners change, and a list it drops takes its entry with it).
 */
export function tracedQueues(queued: readonly ListenerDefinition[]): readonly string[] {
  let queues = names.get(queued);
  if (queues === undefined) {
    queues = Object.freeze(queued.map((listener) => listener.queue!.queue));
    names.set(queued, queues);
  }
  return queues;
}
