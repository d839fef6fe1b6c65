import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { EVENTS_OPTIONS } from '../events.constants.js';
import type { ResolvedEventsOptions } from '../events.options.js';
import { SagaCatalog } from './saga.catalog.js';
import { SagaManager } from './saga.manager.js';
import { SAGA_STORE } from './saga.constants.js';
import type { SagaStore } from './saga.store.js';
import { FINISHED } from './saga-definition.js';

/** Sagas looked at per sweep. */
const SWEEP_BATCH = 500;

/**
 * Stores again the next job of sagas idle for `sagas.sweepAfter`: a process that died between a
 * saga's write and its job's leaves a saga no job drives. Saga jobs are deduplicated by id, so a
 * job that exists (waiting, retrying, running) is not stored twice. A finished saga still active
 * after that time gets its ending event emitted again (same id: stored once).
 */
@Injectable()
export class SagaSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Sagas');
  private timer: NodeJS.Timeout | undefined;
  private isSweeping = false;

  constructor(
    @Inject(SAGA_STORE) private readonly store: SagaStore,
    @Inject(EVENTS_OPTIONS) private readonly options: ResolvedEventsOptions,
    private readonly catalog: SagaCatalog,
    private readonly manager: SagaManager,
  ) {}

  onApplicationBootstrap(): void {
    const interval = this.options.sagas.sweepInterval;
    if (interval === 0 || this.catalog.all().length === 0 || !this.options.worker.enabled) return;
    this.timer = setInterval(() => void this.sweep(), interval);
    this.timer.unref();
  }

  /** One pass; returns how many sagas it looked at. Never throws. */
  async sweep(): Promise<number> {
    if (this.isSweeping) return 0;
    this.isSweeping = true;
    try {
      const idle = await this.store.idle(
        this.manager.transitions.clock.now() - this.options.sagas.sweepAfter,
        SWEEP_BATCH,
      );
      const { transitions } = this.manager;
      for (const record of idle) {
        const saga = this.catalog.get(record.name);
        if (saga === undefined) continue;
        // A finished saga still active: its ending event may never have gone out.
        if (FINISHED.includes(record.status)) await transitions.finished(saga, record);
        else await transitions.enqueueCurrent(saga, record);
      }
      return idle.length;
    } catch (error) {
      this.logger.error(`Saga sweep failed: ${String(error)}`);
      return 0;
    } finally {
      this.isSweeping = false;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    // The worker stopped before this hook: no saga ends after these marks.
    await this.manager.transitions.settled();
    await this.store.close();
  }
}
