import type { Provider } from '@nestjs/common';
import { EVENTS_OPTIONS } from '../events.constants.js';
import type { ResolvedEventsOptions } from '../events.options.js';
import { EVENT_TRACER, type EventTracer } from './event-tracer.js';
import { loadOpenTelemetryTracer } from './opentelemetry.adapter.js';

/** The tracer of `EventsModule`: OpenTelemetry when installed, unless `tracing: false`. */
export const tracingProviders: Provider[] = [
  {
    provide: EVENT_TRACER,
    useFactory: (options: ResolvedEventsOptions): Promise<EventTracer | null> | null =>
      options.tracing.isEnabled
        ? loadOpenTelemetryTracer(options.tracing, options.redis === undefined ? 'memory' : 'redis')
        : null,
    inject: [EVENTS_OPTIONS],
  },
];
