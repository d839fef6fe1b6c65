import {
  Delete,
  Get,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  Post,
  Query,
  Sse,
  type MessageEvent,
  type OnModuleDestroy,
} from '@nestjs/common';
import type { Observable } from 'rxjs';
import { EventBus } from '../bus/event-bus.js';
import type { ListenerSummary } from '../bus/listener-summary.js';
import { EventMetrics } from '../observability/event-metrics.js';
import { EventQueues } from '../queue/event-queues.js';
import type { QueueMinute } from '../queue/queue-history.js';
import type { QueueGroup } from '../queue/flow/queue-group.js';
import { SagaManager } from '../sagas/saga.manager.js';
import type { SagaStatus } from '../sagas/saga-definition.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { DASHBOARD_OPTIONS } from './dashboard.constants.js';
import type { ResolvedDashboardOptions } from './dashboard.options.js';
import { dashboardTail } from './dashboard-tail.js';
import {
  DEAD_PAGE,
  deadJobView,
  lastWholeMinute,
  probeLimit,
  queryInteger,
  queryTag,
  sagaView,
  type DeadJobView,
  type QueueRow,
} from './dashboard-views.js';
import { sharedAbortController } from '../shared-abort.js';

const SAGA_STATUSES = ['running', 'waiting', 'compensating', 'completed', 'compensated', 'failed'];

/**
 * The dashboard's JSON API (mounted under `<path>/api` by `EventsDashboardModule`), built on
 * `EventQueues`, `EventMetrics`, `EventBus` and `SagaManager` only. Guarded and given its error
 * mapping by the module.
 */
export class DashboardApiController implements OnModuleDestroy {
  /** Fires when the app shuts down: open tails end, so they never hold up `app.close()`. */
  private readonly closing = sharedAbortController();

  constructor(
    @Inject(DASHBOARD_OPTIONS) private readonly options: ResolvedDashboardOptions,
    private readonly queues: EventQueues,
    private readonly metrics: EventMetrics,
    private readonly bus: EventBus,
    private readonly sagas: SagaManager,
  ) {}

  /** Every queue: counts, pause, lag and the last whole minute's throughput. */
  @Get('api/queues')
  async listQueues(): Promise<{ queues: QueueRow[] }> {
    const [counts, readings] = await Promise.all([this.queues.counts(), this.metrics.queues()]);
    const queues = await Promise.all(
      Object.entries(counts).map(async ([name, c]) => {
        const [isPaused, history] = await Promise.all([
          this.queues.isPaused(name),
          this.metrics.history(name, { minutes: 2 }),
        ]);
        const lagMs = readings[name]?.oldestWaitingMs ?? 0;
        return { name, counts: c, isPaused, lagMs, lastMinute: lastWholeMinute(history) };
      }),
    );
    return { queues };
  }

  /** A queue's completed and failed attempts per minute (`?minutes`, default 60). */
  @Get('api/queues/:queue/history')
  async history(
    @Param('queue') queue: string,
    @Query('minutes') minutes?: string,
  ): Promise<{ queue: string; minutes: QueueMinute[] }> {
    const count = queryInteger('minutes', minutes) ?? 60;
    await this.queues.counts(queue);
    return { queue, minutes: await this.metrics.history(queue, { minutes: count }) };
  }

  /**
   * A page of dead letters (`?offset&limit`, default 0 and 50; `?tag` keeps the jobs whose
   * event's `tags()` gave it), how many the queue holds and whether more follow this page.
   */
  @Get('api/queues/:queue/dead')
  async dead(
    @Param('queue') queue: string,
    @Query('offset') offset?: string,
    @Query('limit') limit?: string,
    @Query('tag') tag?: string,
  ): Promise<{
    queue: string;
    total: number;
    offset: number;
    tag: string | undefined;
    hasMore: boolean;
    jobs: DeadJobView[];
  }> {
    const page = {
      offset: queryInteger('offset', offset) ?? 0,
      limit: queryInteger('limit', limit) ?? DEAD_PAGE,
      tag: queryTag(tag),
    };
    // A tag's count is not kept: one more than asked tells whether a next page exists.
    const jobs = await this.queues.listDead(queue, { ...page, limit: probeLimit(page.limit) });
    const { dead } = await this.queues.counts(queue);
    const shown = jobs.slice(0, page.limit).map((job) => deadJobView(job, this.options.redact));
    return {
      queue,
      total: dead,
      offset: page.offset,
      tag: page.tag,
      hasMore: jobs.length > page.limit,
      jobs: shown,
    };
  }

  @Post('api/queues/:queue/dead/retry-all')
  @HttpCode(200)
  async retryAll(@Param('queue') queue: string): Promise<{ retried: number }> {
    return { retried: await this.queues.retryDead(queue, 'all') };
  }

  @Post('api/queues/:queue/dead/:id/retry')
  @HttpCode(200)
  async retry(
    @Param('queue') queue: string,
    @Param('id') id: string,
  ): Promise<{ retried: number }> {
    const retried = await this.queues.retryDead(queue, id);
    if (retried === 0) throw notFound(`No dead job "${id}" in queue "${queue}".`);
    return { retried };
  }

  @Delete('api/queues/:queue/dead/:id')
  async forget(
    @Param('queue') queue: string,
    @Param('id') id: string,
  ): Promise<{ forgotten: number }> {
    if (!(await this.queues.forgetDead(queue, id))) {
      throw notFound(`No dead job "${id}" in queue "${queue}".`);
    }
    return { forgotten: 1 };
  }

  @Delete('api/queues/:queue/dead')
  async purge(@Param('queue') queue: string): Promise<{ purged: number }> {
    return { purged: await this.queues.purgeDead(queue) };
  }

  /**
   * A page of the queue's groups (`?offset&limit`, default 0 and 50): waiting, active, paused,
   * limited until; and whether more follow this page.
   */
  @Get('api/queues/:queue/groups')
  async groups(
    @Param('queue') queue: string,
    @Query('offset') offset?: string,
    @Query('limit') limit?: string,
  ): Promise<{ queue: string; offset: number; hasMore: boolean; groups: QueueGroup[] }> {
    const page = {
      offset: queryInteger('offset', offset) ?? 0,
      limit: queryInteger('limit', limit) ?? DEAD_PAGE,
    };
    const groups = await this.queues.groups(queue, { ...page, limit: probeLimit(page.limit) });
    return {
      queue,
      offset: page.offset,
      hasMore: groups.length > page.limit,
      groups: groups.slice(0, page.limit),
    };
  }

  @Post('api/queues/:queue/groups/:group/pause')
  @HttpCode(200)
  async pauseGroup(
    @Param('queue') queue: string,
    @Param('group') group: string,
  ): Promise<{ group: string; paused: boolean }> {
    await this.queues.pauseGroup(queue, group);
    return { group, paused: true };
  }

  @Post('api/queues/:queue/groups/:group/resume')
  @HttpCode(200)
  async resumeGroup(
    @Param('queue') queue: string,
    @Param('group') group: string,
  ): Promise<{ group: string; paused: boolean }> {
    await this.queues.resumeGroup(queue, group);
    return { group, paused: false };
  }

  @Get('api/listeners')
  listeners(): { listeners: ListenerSummary[] } {
    return { listeners: this.bus.listeners() };
  }

  /** Server-sent events: local emits, jobs and dead letters of every process (`?pattern`). */
  @Sse('api/tail')
  tail(@Query('pattern') pattern?: string): Observable<MessageEvent> {
    if (pattern !== undefined && typeof pattern !== 'string') {
      throw new InvalidOptionError('pattern', pattern, 'one event name pattern');
    }
    return dashboardTail(
      this.bus,
      this.queues,
      pattern || undefined,
      this.options.redact,
      this.closing.signal,
    );
  }

  onModuleDestroy(): void {
    this.closing.abort();
  }

  /** Sagas, oldest first (`?name&status&offset&limit`); 404 when the app defines none. */
  @Get('api/sagas')
  async listSagas(
    @Query('name') name?: string,
    @Query('status') status?: string,
    @Query('offset') offset?: string,
    @Query('limit') limit?: string,
  ): Promise<{ sagas: ReturnType<typeof sagaView>[] }> {
    if (this.sagas.names().length === 0) throw notFound('This app defines no saga.');
    if (name !== undefined && typeof name !== 'string') {
      throw new InvalidOptionError('name', name, 'one saga name');
    }
    if (status !== undefined && !SAGA_STATUSES.includes(status)) {
      throw new InvalidOptionError('status', status, SAGA_STATUSES.join(', '));
    }
    const sagas = await this.sagas.list({
      name,
      status: status as SagaStatus | undefined,
      offset: queryInteger('offset', offset),
      limit: queryInteger('limit', limit) ?? 50,
    });
    return { sagas: sagas.map((saga) => sagaView(saga, this.options.redact)) };
  }
}

function notFound(message: string): NotFoundException {
  return new NotFoundException({ statusCode: 404, error: 'Not Found', message });
}
