import type { EmitArgs, MappedClassEvent, TypedEventName } from '../event/event-map.js';
import type { ScheduleOptions } from '../scheduling/schedule.types.js';
import type { EmitOptions } from './emit-options.js';

/** When `emitIf` emits: a boolean, or a (sync or async) function of none. */
export type EmitCondition = boolean | (() => boolean | Promise<boolean>);

/** `bus.emitIf` / `bus.emitUnless`: a condition, then the arguments of `emit`. */
export interface ConditionalEmit {
  <N extends TypedEventName>(
    condition: EmitCondition,
    name: N,
    ...args: EmitArgs<N, EmitOptions>
  ): Promise<boolean>;
  (condition: EmitCondition, event: MappedClassEvent, options?: EmitOptions): Promise<boolean>;
}

/** `bus.schedule`: the arguments of `emit`, with schedule options. Resolves to the schedule's id. */
export interface ScheduleEmit {
  <N extends TypedEventName>(name: N, ...args: EmitArgs<N, ScheduleOptions>): Promise<string>;
  (event: MappedClassEvent, options: ScheduleOptions): Promise<string>;
}

/** Whether the condition holds (a function is called once). */
export function holds(condition: EmitCondition): boolean | Promise<boolean> {
  return typeof condition === 'function' ? condition() : condition;
}
