import type { ResolvedListeners } from '../discovery/listener.registry.js';

/** The listeners of one event name, split by when they run in an outbox transaction. */
export interface TransactionListeners {
  /** In-process listeners with `afterCommit: false`: they run inside the transaction. */
  readonly inside: ResolvedListeners;
  /** Everything else (queued listeners included): run after commit. */
  readonly after: ResolvedListeners;
}

const splits = new WeakMap<ResolvedListeners, TransactionListeners>();

/**
 * Splits a resolved listener set, once per set (the registry hands out the same object until its
 * listeners change, so the split is cached with it).
 */
export function transactionListeners(listeners: ResolvedListeners): TransactionListeners {
  let split = splits.get(listeners);
  if (split === undefined) {
    const { inProcess, contexts } = listeners;
    const insideIndexes = inProcess.flatMap((l, i) => (l.afterCommit === false ? [i] : []));
    if (insideIndexes.length === 0) {
      split = {
        inside: { ...listeners, inProcess: [], contexts: [], queued: [] },
        after: listeners,
      };
    } else {
      const pick = (keep: (i: number) => boolean): ResolvedListeners => {
        const picked = inProcess.flatMap((l, i) => (keep(i) ? [l] : []));
        return {
          inProcess: picked,
          contexts: contexts.filter((_, i) => keep(i)),
          hasAsync: picked.some((l) => l.isAsync !== false),
          queued: [],
        };
      };
      const inside = pick((i) => insideIndexes.includes(i));
      const after = { ...pick((i) => !insideIndexes.includes(i)), queued: listeners.queued };
      split = { inside, after };
    }
    splits.set(listeners, split);
  }
  return split;
}
