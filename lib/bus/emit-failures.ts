import { Logger } from '@nestjs/common';

function noop(): void {}

/**
 * How a failed emit reaches its caller and the log: it rejects with the typed error, is logged
 * once at ERROR with its name and id, and is never reported to Node as unhandled (a forgotten
 * `await` must not end the process).
 */
export class EmitFailures {
  private readonly logger = new Logger('EventBus');

  /** The rejected promise of an emit that failed at once (`id`: none when refused before it had one). */
  refused(error: unknown, name: string, id?: string): Promise<never> {
    const rejected = Promise.reject(error);
    rejected.catch(noop);
    this.log(error, name, id);
    return rejected;
  }

  /** `delivered`, whose rejection is logged and marked handled before the caller sees it. */
  watch<T>(delivered: Promise<unknown>, value: T, name: string, id: string): Promise<T> {
    const emitted: Promise<T> = delivered.then(
      () => value,
      (error: unknown) => {
        // Handled (from Node's view) before it rejects: nothing to pay while emits succeed.
        emitted.catch(noop);
        this.log(error, name, id);
        throw error;
      },
    );
    return emitted;
  }

  /** Logs a failed emit once, at ERROR, whether or not its caller awaits it. */
  log(error: unknown, name: string, id: string | undefined): void {
    const message = error instanceof Error ? error.message : String(error);
    this.logger.error(
      `Emit of "${name}" (${id ?? 'no id: refused before it had one'}) failed: ${message}`,
      error instanceof Error ? error.stack : undefined,
    );
  }
}

/** The event name of an emit that was refused before it had an envelope, for the log. */
export function nameOfEmit(nameOrEvent: unknown): string {
  if (typeof nameOrEvent === 'string') return nameOrEvent;
  const type = (nameOrEvent as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  return typeof type === 'string' ? `an instance of ${type}` : String(nameOrEvent);
}
