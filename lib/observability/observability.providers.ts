import type { Provider } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { EVENTS_OPTIONS } from '../events.constants.js';
import type { ResolvedEventsOptions } from '../events.options.js';
import { EventMetrics } from './event-metrics.js';
import { EventsHealthIndicator } from './events-health.indicator.js';
import { PrometheusExporter } from './prometheus.exporter.js';
import { QueueMonitor } from './queue-monitor.js';

/** DI token of the Prometheus exporter (`null` unless `metrics.prometheus` is set). */
export const PROMETHEUS_EXPORTER = Symbol('PROMETHEUS_EXPORTER');

/** The observability providers of `EventsModule`: metrics, their export, the backlog monitor. */
export const observabilityProviders: Provider[] = [
  EventMetrics,
  QueueMonitor,
  EventsHealthIndicator,
  {
    provide: PROMETHEUS_EXPORTER,
    // prom-client is loaded only when configured; a missing package fails the boot, naming it.
    useFactory: (
      options: ResolvedEventsOptions,
      metrics: EventMetrics,
      http: HttpAdapterHost,
    ): Promise<PrometheusExporter> | null => {
      const prometheus = options.metrics.prometheus;
      if (prometheus === undefined || !options.metrics.isEnabled) return null;
      return PrometheusExporter.create(prometheus, metrics, http);
    },
    inject: [EVENTS_OPTIONS, EventMetrics, HttpAdapterHost],
  },
];

/** What `EventsModule` exports of them. */
export const observabilityExports = [EventMetrics, EventsHealthIndicator];
