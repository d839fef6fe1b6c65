import type { ListenerDefinition } from '../../discovery/listener-definition.js';
import type { ListenerRegistry } from '../../discovery/listener.registry.js';
import type { InFlight } from '../in-flight.js';
import type { JobRunner } from '../job-runner.js';
import type { JobSettler } from '../job-settler.js';
import type { ReservedJob } from '../queue-job.js';
import { batchKey, type BatchOptions } from './batch-options.js';
import type { BatchItem, BatchRunner } from './batch-runner.js';
import { WallClockTimer } from '../../wall-clock-timer.js';

/** Jobs of one listener and batch key, waiting for the batch to fill or its wait to end. */
interface Bucket {
  readonly id: string;
  readonly listener: ListenerDefinition;
  readonly items: BatchItem[];
  readonly timer: WallClockTimer;
  readonly finished: Deferred;
}

/** A handler call waiting for one of the queue's slots: a batch, or a single job. */
interface Unit {
  readonly jobs: readonly ReservedJob[];
  readonly run: () => Promise<void>;
  readonly finished: Deferred;
}

interface Deferred {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * Forms the batches of a queue with batched listeners, in one worker: each job of a batched
 * listener joins the open batch of its listener and key; a batch runs when it holds `maxSize`
 * jobs or `maxWaitMs` after its first. At most `concurrency` handler calls (batches, or single
 * jobs of the queue's other listeners) run at once. Jobs waiting in a batch stay held by this
 * worker (heartbeated as read-ahead: `InFlight.ahead`) and are dropped if another takes them.
 */
export class BatchCollector {
  private readonly buckets = new Map<string, Bucket>();
  private readonly ready: Unit[] = [];
  private running = 0;
  private isClosed = false;

  constructor(
    private readonly concurrency: number,
    private readonly registry: ListenerRegistry,
    private readonly runner: JobRunner,
    private readonly batches: BatchRunner,
    private readonly settler: JobSettler,
    private readonly inFlight: InFlight,
  ) {}

  /** Takes a reserved job; resolves once it ran (alone or in its batch) or was settled. */
  add(job: ReservedJob): Promise<void> {
    const batch = this.registry.get(job.listener)?.queue?.batch;
    if (batch === undefined) {
      // Held as read-ahead until a slot is free, like the jobs of a batch.
      this.inFlight.ahead.add(job);
      const run = (): Promise<void> =>
        this.inFlight.ahead.delete(job) ? this.runner.process(job) : Promise.resolve();
      return this.schedule({ jobs: [job], run, finished: deferred() });
    }
    const prepared = this.runner.prepare(job);
    if (prepared instanceof Promise) {
      return prepared.then((p) =>
        'settled' in p ? this.reported(job, p.settled) : this.join({ ...p, job }, batch),
      );
    }
    if ('settled' in prepared) return this.reported(job, prepared.settled);
    return this.join({ ...prepared, job }, batch);
  }

  /** Puts back the jobs of batches not started (attempt not counted); resolves when they are. */
  async close(): Promise<void> {
    this.isClosed = true;
    const waiting: Unit[] = this.ready.splice(0);
    for (const bucket of this.buckets.values()) {
      bucket.timer.cancel();
      waiting.push({
        jobs: bucket.items.map((i) => i.job),
        run: async () => {},
        finished: bucket.finished,
      });
    }
    this.buckets.clear();
    await Promise.all(
      waiting.map(async (unit) => {
        await Promise.all(
          unit.jobs
            .filter((job) => this.inFlight.ahead.delete(job))
            .map((job) =>
              this.settler
                .release(job, 0)
                .catch((error: unknown) => this.runner.reportUnsettled(job, error)),
            ),
        );
        unit.finished.resolve();
      }),
    );
  }

  private join(
    item: BatchItem & { readonly listener: ListenerDefinition },
    batch: BatchOptions,
  ): Promise<void> {
    const { listener, job, event } = item;
    let key: string;
    try {
      key = batchKey(batch, event, listener.id);
    } catch (error) {
      return this.reported(job, this.runner.fail(listener, event, job, error));
    }
    const id = `${listener.id}\n${key}`;
    let bucket = this.buckets.get(id);
    if (bucket === undefined) {
      const timer = new WallClockTimer(Date.now() + batch.maxWaitMs, () => this.flush(id));
      bucket = { id, listener, items: [], timer, finished: deferred() };
      this.buckets.set(id, bucket);
    }
    bucket.items.push({ job, event });
    this.inFlight.ahead.add(job);
    const { finished } = bucket;
    if (bucket.items.length >= batch.maxSize) this.flush(id);
    return finished.promise;
  }

  /** The batch `id` is complete: it waits for a slot. */
  private flush(id: string): void {
    const bucket = this.buckets.get(id);
    if (bucket === undefined) return;
    this.buckets.delete(id);
    bucket.timer.cancel();
    const run = (): Promise<void> => {
      // Jobs another worker took while they waited are gone from `ahead`: never run them here.
      const items = bucket.items.filter((item) => this.inFlight.ahead.delete(item.job));
      return items.length === 0 ? Promise.resolve() : this.batches.run(bucket.listener, items);
    };
    void this.schedule({ jobs: bucket.items.map((i) => i.job), run, finished: bucket.finished });
  }

  private schedule(unit: Unit): Promise<void> {
    this.ready.push(unit);
    // Closed: what comes in late (an async prepare) goes back to the queue at once.
    if (this.isClosed) void this.close();
    else this.pump();
    return unit.finished.promise;
  }

  /** Starts units while slots are free. */
  private pump(): void {
    while (this.running < this.concurrency && this.ready.length > 0 && !this.isClosed) {
      const unit = this.ready.shift()!;
      this.running++;
      const ended = (): void => {
        this.running--;
        unit.finished.resolve();
        this.pump();
      };
      unit.run().then(ended, ended);
    }
  }

  /** A job settled without running: its failed settle is reported. */
  private reported(job: ReservedJob, settled: Promise<void>): Promise<void> {
    return settled.catch((error: unknown) => this.runner.reportUnsettled(job, error));
  }
}
