import type { Provider } from '@nestjs/common';
import { EventMetrics } from './event-metrics.js';
import { QueueMonitor } from './queue-monitor.js';

/** The observability providers of `EventsModule`: metrics, their export, the backlog monitor. */
export const observabilityProviders: Provider[] = [EventMetrics, QueueMonitor];

/** What `EventsModule` exports of them. */
export const observabilityExports = [EventMetrics];
