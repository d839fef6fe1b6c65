import type { ResolvedQueueOptions } from '../../discovery/listener-definition.js';

/** The flow-control options of a queued listener as `bus.listeners()` shows them (no functions). */
export interface FlowSummary {
  readonly singleton?: { readonly mode: 'skip' | 'cancel' };
  readonly cancelOn?: { readonly event: string };
  readonly debounce?: {
    readonly delayMs: number;
    readonly maxDelayMs?: number;
    readonly collect?: true;
  };
}

/** What `bus.listeners()` shows of a listener's flow options; undefined when it has none. */
export function summarizeFlow(queue: ResolvedQueueOptions | undefined): FlowSummary | undefined {
  if (queue === undefined) return undefined;
  const { singleton, cancelOn, debounce } = queue;
  if (singleton === undefined && cancelOn === undefined && debounce === undefined) return undefined;
  return {
    ...(singleton && { singleton: { mode: singleton.mode } }),
    ...(cancelOn && { cancelOn: { event: cancelOn.event } }),
    ...(debounce && {
      debounce: {
        delayMs: debounce.delayMs,
        ...(debounce.maxDelayMs !== undefined && { maxDelayMs: debounce.maxDelayMs }),
        ...(debounce.collect === true && { collect: true as const }),
      },
    }),
  };
}
