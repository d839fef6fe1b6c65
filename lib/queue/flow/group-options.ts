import type { EventEnvelope } from '../../event/event-envelope.js';
import { InvalidGroupError } from '../../errors/invalid-group.error.js';
import { InvalidOptionError } from '../../errors/invalid-option.error.js';
import { assertInteger } from '../../option-assertions.js';

/** The group of the jobs of listeners that give none, on a queue where others do. */
export const DEFAULT_GROUP = 'default';
/** Longest group id, in UTF-8 bytes. */
export const MAX_GROUP_BYTES = 128;
/** Highest `groupWeight`. */
export const MAX_GROUP_WEIGHT = 1000;

/**
 * Where a job's group comes from: a function of the envelope, or the name of a metadata key
 * (filled from the event context, e.g. `'tenantId'`). A missing key means the default group.
 */
export type GroupSelector<E = EventEnvelope> = string | ((event: E) => string);

/** At most `max` starts of one group in any window of `durationMs`. */
export interface GroupRateLimit {
  readonly max: number;
  readonly durationMs: number;
}

/** The group settings of a queued listener, as `@ShouldQueue` takes them. */
export interface GroupOptions<E = EventEnvelope> {
  /**
   * Groups the listener's jobs for fair scheduling: workers take jobs round-robin across the
   * groups with ready jobs. @default undefined (no group; on a grouped queue, the default group)
   */
  group?: GroupSelector<E>;
  /** Starts per round of a group: a number, or a function of the group id. @default 1 */
  groupWeight?: number | ((groupId: string) => number);
  /** Most jobs of one group running at once across all workers. @default undefined (no limit) */
  groupConcurrency?: number;
  /** Most starts of one group per window, shared by all workers. @default undefined (no limit) */
  groupRateLimit?: GroupRateLimit;
}

/** The group settings after validation, bound to the provider. */
export interface ResolvedGroupOptions {
  readonly select: (event: EventEnvelope) => unknown;
  readonly weight: number | ((groupId: string) => number);
  /** 0: no limit. */
  readonly concurrency: number;
  readonly rateLimit?: GroupRateLimit;
}

/** What a stored job carries about its group. */
export interface JobGroup {
  readonly id: string;
  readonly weight: number;
  /** 0: no limit. */
  readonly concurrency: number;
  /** 0: no rate limit. */
  readonly rateMax: number;
  readonly rateMs: number;
}

export const GROUP_OPTION_KEYS = ['group', 'groupWeight', 'groupConcurrency', 'groupRateLimit'];

/** Validates the group options of `@ShouldQueue` at decoration time. */
export function assertGroupOptions(o: Record<string, unknown>, where: string): void {
  const hasGroupOption = GROUP_OPTION_KEYS.some((key) => o[key] !== undefined);
  if (!hasGroupOption) return;
  const option = (key: string): string => `@ShouldQueue ${key} on ${where}`;
  if (
    o.group !== undefined &&
    typeof o.group !== 'function' &&
    (typeof o.group !== 'string' || o.group === '')
  ) {
    throw new InvalidOptionError(
      option('group'),
      o.group,
      'a function of the event, or the name of a metadata key',
    );
  }
  if (o.group === undefined) {
    const key = GROUP_OPTION_KEYS.find((k) => o[k] !== undefined)!;
    throw new InvalidOptionError(option(key), o[key], 'a `group` option beside it');
  }
  if (o.groupWeight !== undefined && typeof o.groupWeight !== 'function') {
    assertInteger(option('groupWeight'), o.groupWeight, 1, MAX_GROUP_WEIGHT);
  }
  if (o.groupConcurrency !== undefined) {
    assertInteger(option('groupConcurrency'), o.groupConcurrency, 1, 1_000_000);
  }
  if (o.groupRateLimit !== undefined) {
    const rate = o.groupRateLimit as Record<string, unknown> | null;
    if (rate === null || typeof rate !== 'object' || Array.isArray(rate)) {
      throw new InvalidOptionError(
        option('groupRateLimit'),
        rate,
        'an object { max, durationMs } of positive integers',
      );
    }
    assertInteger(option('groupRateLimit.max'), rate.max, 1, 1_000_000);
    assertInteger(option('groupRateLimit.durationMs'), rate.durationMs, 1, 86_400_000);
  }
}

/** The group options of a listener, bound to its provider; undefined when it has no group. */
export function resolveGroupOptions(
  o: GroupOptions<never>,
  instance: unknown,
): ResolvedGroupOptions | undefined {
  const group = o.group as GroupSelector | undefined;
  if (group === undefined) return undefined;
  const weight = o.groupWeight;
  return {
    select:
      typeof group === 'function'
        ? (group.bind(instance) as (event: EventEnvelope) => unknown)
        : (event) => event.metadata[group] ?? DEFAULT_GROUP,
    weight: typeof weight === 'function' ? weight.bind(instance) : (weight ?? 1),
    concurrency: o.groupConcurrency ?? 0,
    rateLimit: o.groupRateLimit,
  };
}

/** The group settings of the listeners without a group, on a queue where others have one. */
export const DEFAULT_GROUP_OPTIONS: ResolvedGroupOptions = {
  select: () => DEFAULT_GROUP,
  weight: 1,
  concurrency: 0,
};

/**
 * Refuses a group id that is not a non-empty string of at most `MAX_GROUP_BYTES` bytes.
 * @throws InvalidGroupError naming the listener and the event.
 */
export function assertGroupId(
  id: unknown,
  listener: string,
  eventName: string,
): asserts id is string {
  if (typeof id !== 'string' || id === '' || Buffer.byteLength(id) > MAX_GROUP_BYTES) {
    throw new InvalidGroupError(
      listener,
      eventName,
      id,
      `a group is a non-empty string of at most ${MAX_GROUP_BYTES} bytes`,
    );
  }
}

/**
 * The group of one job: from the emit's `group` option, else the listener's selector.
 * @throws InvalidGroupError naming the listener, when the selector throws or gives a bad id.
 */
export function jobGroup(
  options: ResolvedGroupOptions,
  listener: string,
  event: EventEnvelope,
  override: string | undefined,
): JobGroup {
  let id: unknown = override;
  if (id === undefined) {
    try {
      id = options.select(event);
    } catch (error) {
      throw new InvalidGroupError(
        listener,
        event.name,
        errorText(error),
        'its group function threw',
        {
          cause: error,
        },
      );
    }
  }
  assertGroupId(id, listener, event.name);
  let weight: unknown = options.weight;
  if (typeof weight === 'function') {
    try {
      weight = (weight as (groupId: string) => unknown)(id);
    } catch (error) {
      throw new InvalidGroupError(
        listener,
        event.name,
        errorText(error),
        'its groupWeight function threw',
        {
          cause: error,
        },
      );
    }
  }
  if (
    typeof weight !== 'number' ||
    !Number.isInteger(weight) ||
    weight < 1 ||
    weight > MAX_GROUP_WEIGHT
  ) {
    throw new InvalidGroupError(
      listener,
      event.name,
      weight,
      `groupWeight must give an integer from 1 to ${MAX_GROUP_WEIGHT}`,
    );
  }
  return {
    id,
    weight,
    concurrency: options.concurrency,
    rateMax: options.rateLimit?.max ?? 0,
    rateMs: options.rateLimit?.durationMs ?? 0,
  };
}

/** What a throwing selector threw, for the error message. */
function errorText(error: unknown): unknown {
  return error instanceof Error ? `${error.name}: ${error.message}` : error;
}
