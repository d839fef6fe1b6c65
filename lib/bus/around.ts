import type { EventEnvelope } from '../event/event-envelope.js';
import { assertEventName } from '../event/event-name.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import type { AfterEventData, FailedEventData } from '../decorators/lifecycle.decorator.js';
import type { EmitOptions } from './emit-options.js';

/** The bus seen without the event map: `around` emits derived names (`<name>.before`, ...). */
export interface UntypedEmits {
  emit(name: string, data: unknown, options?: EmitOptions): Promise<EventEnvelope>;
  emitAsync(name: string, data: unknown, options?: EmitOptions): Promise<unknown[]>;
}

/**
 * `bus.around`: emits `<name>.before` and awaits its listeners (one that throws cancels the
 * action), runs the action, then emits `<name>.after` with `{ data, result }`, or
 * `<name>.failed` with `{ data, error }` and rethrows the action's error.
 */
export async function runAround<T, R>(
  bus: UntypedEmits,
  name: string,
  data: T,
  action: () => R | Promise<R>,
  options: EmitOptions | undefined,
): Promise<R> {
  assertEventName(name);
  if (typeof action !== 'function') throw new InvalidOptionError('action', action, 'a function');
  await bus.emitAsync(`${name}.before`, data, options);
  let result: R;
  try {
    result = await action();
  } catch (error) {
    const failed: FailedEventData<T> = {
      data,
      error: {
        name: error instanceof Error ? error.name : typeof error,
        message: error instanceof Error ? error.message : String(error),
        ...(typeof (error as { code?: unknown })?.code === 'string'
          ? { code: (error as { code: string }).code }
          : {}),
      },
    };
    // The action's error is what the caller gets; a failed emit is logged by `emit` itself.
    await bus.emit(`${name}.failed`, failed, options).catch(() => undefined);
    throw error;
  }
  const after: AfterEventData<T, R> = { data, result };
  await bus.emit(`${name}.after`, after, options);
  return result;
}
