import { assertEventName } from '../event/event-name.js';
import type { ListenerDefinition } from '../discovery/listener-definition.js';
import type { ListenerRegistry } from '../discovery/listener.registry.js';
import { summarizeFlow, type FlowSummary } from '../queue/flow/flow-summary.js';

/** What `bus.listeners()` reports of each listener. */
export interface ListenerSummary {
  readonly id: string;
  readonly patterns: readonly string[];
  readonly priority: number;
  readonly isQueued: boolean;
  readonly queue?: string;
  /**
   * Flow-control options of a queued listener (`group` settings, `singleton`, `cancelOn`,
   * `debounce`), when set.
   */
  readonly flow?: FlowSummary;
}

/** Whether any listener (in-process or queued) matches the event name. */
export function hasListeners(registry: ListenerRegistry, name: string): boolean {
  assertEventName(name);
  const { inProcess, queued } = registry.resolve(name);
  return inProcess.length + queued.length > 0;
}

/** Every registered listener, or those matching `name`, in call order. */
export function summarizeListeners(registry: ListenerRegistry, name?: string): ListenerSummary[] {
  let list: readonly ListenerDefinition[];
  if (name === undefined) list = registry.all();
  else {
    assertEventName(name);
    const { inProcess, queued } = registry.resolve(name);
    list = [...inProcess, ...queued];
  }
  return list.map((l) => {
    const flow = summarizeFlow(l.queue);
    return {
      id: l.id,
      patterns: l.patterns,
      priority: l.priority,
      isQueued: !!l.queue,
      queue: l.queue?.queue,
      ...(flow && { flow }),
    };
  });
}
