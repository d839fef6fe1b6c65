import {
  Controller,
  Module,
  UseFilters,
  UseGuards,
  type DynamicModule,
  type Provider,
  type Type,
} from '@nestjs/common';
import { DashboardApiController } from './dashboard-api.controller.js';
import { DASHBOARD_OPTIONS } from './dashboard.constants.js';
import { DashboardFilter } from './dashboard.filter.js';
import { DashboardGuard } from './dashboard.guard.js';
import { resolveDashboardOptions, type EventsDashboardOptions } from './dashboard.options.js';
import { DashboardPageController } from './dashboard-page.controller.js';

/** A subclass of `base` routed at `path`, guarded and given the dashboard's error mapping. */
function mounted<T>(base: Type<T>, path: string): Type<T> {
  const routed = class extends (base as Type<object>) {} as Type<T>;
  Object.defineProperty(routed, 'name', { value: base.name });
  UseFilters(DashboardFilter)(routed);
  UseGuards(DashboardGuard)(routed);
  Controller(path)(routed);
  return routed;
}

/**
 * A dashboard of the queues on the app's HTTP server: a page (queues, per-minute chart, dead
 * letters with retry, forget and purge, live tail, listeners, sagas) and the JSON API under it,
 * built on `EventQueues`, `EventMetrics`, `EventBus` and `SagaManager`. Needs
 * `EventsModule.forRoot` (global, its default). Every asset comes from the package: no CDN, no
 * outside request.
 */
@Module({})
export class EventsDashboardModule {
  /**
   * The dashboard at `path` (default `/events`).
   *
   * @example
   * @Module({
   *   imports: [
   *     EventsModule.forRoot({ redis: process.env.REDIS_URL }),
   *     EventsDashboardModule.forRoot({ auth: (req) => isAdmin(req), redact: ['card.number'] }),
   *   ],
   * })
   * export class AppModule {}
   */
  static forRoot(options: EventsDashboardOptions = {}): DynamicModule {
    const resolved = resolveDashboardOptions(options);
    const providers: Provider[] = [
      { provide: DASHBOARD_OPTIONS, useValue: resolved },
      DashboardGuard,
      DashboardFilter,
    ];
    if (resolved.auth?.kind === 'guard') providers.push(resolved.auth.guard);
    return {
      module: EventsDashboardModule,
      controllers: [
        mounted(DashboardPageController, resolved.path),
        mounted(DashboardApiController, resolved.path),
      ],
      providers,
    };
  }
}
