import { ModulesContainer } from '@nestjs/core';
import { ListenerRegistry } from '../discovery/listener.registry.js';
import type { ResolvedEventsOptions } from '../events.options.js';
import { createRedisQueueTransport } from '../queue/redis/redis-queue.transport.js';
import { Worker } from '../queue/worker.js';
import { loadOpenTelemetryTracer } from '../tracing/opentelemetry.adapter.js';
import type { EventsServerHost } from './events-server.link.js';
import { InboundFanOut } from './inbound.fan-out.js';

/**
 * What an `EventsServer` whose app does not import `EventsModule` works with: a queue transport,
 * a listener registry and a worker of its own, built from the server's options alone. Only the
 * app's `@EventPattern` handlers run (`@OnEvent` listeners are discovered by the module).
 *
 * @throws TransportError when Redis cannot be reached.
 */
export async function createStandaloneHost(
  options: ResolvedEventsOptions,
  lateListenerWindowMs: number,
): Promise<EventsServerHost> {
  // Spans as in an `EventsModule` worker: when `@opentelemetry/api` is installed.
  const tracer = options.tracing.isEnabled
    ? await loadOpenTelemetryTracer(options.tracing, 'redis')
    : null;
  const transport = await createRedisQueueTransport(options);
  const registry = new ListenerRegistry();
  // No Nest module tree to hook into: the server's close() drains the worker (see `stop`).
  const worker = new Worker(transport, options, registry, new ModulesContainer(), tracer);
  let fanOut: InboundFanOut;
  try {
    fanOut = await InboundFanOut.connect(
      { options, transport, registry, worker },
      lateListenerWindowMs,
    );
  } catch (error) {
    await transport.close();
    throw error;
  }
  fanOut.install();
  return {
    options,
    transport,
    addListener: (definition) => registry.add(definition),
    start: async (plan) => {
      worker.startForServer(plan);
      await fanOut.announce();
    },
    stop: async () => {
      // No application hooks here: the server's close() is this worker's whole shutdown.
      await worker.beforeApplicationShutdown();
      await fanOut.close();
      await worker.onApplicationShutdown();
    },
  };
}
