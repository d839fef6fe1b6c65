import type { ResolvedQueueOptions } from '../../discovery/listener-definition.js';
import type { GroupRateLimit, ResolvedGroupOptions } from './group-options.js';

/** The group settings of a queued listener as `bus.listeners()` shows them. */
export interface GroupSummary {
  /** Starts per round, or `'function'` when a function of the group id gives it. */
  readonly weight: number | 'function';
  /** Most jobs of one group running at once; absent: no limit. */
  readonly concurrency?: number;
  /** Most starts of one group per window; absent: no limit. */
  readonly rateLimit?: GroupRateLimit;
}

/** The flow-control options of a queued listener as `bus.listeners()` shows them (no functions). */
export interface FlowSummary {
  readonly group?: GroupSummary;
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
  const { singleton, cancelOn, debounce, group } = queue;
  if (
    singleton === undefined &&
    cancelOn === undefined &&
    debounce === undefined &&
    group === undefined
  ) {
    return undefined;
  }
  return {
    ...(group && { group: summarizeGroup(group) }),
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

function summarizeGroup(group: ResolvedGroupOptions): GroupSummary {
  return {
    weight: typeof group.weight === 'function' ? 'function' : group.weight,
    ...(group.concurrency > 0 && { concurrency: group.concurrency }),
    ...(group.rateLimit && {
      rateLimit: { max: group.rateLimit.max, durationMs: group.rateLimit.durationMs },
    }),
  };
}
