import { Logger } from '@nestjs/common';
import type { ListenerDefinition } from '../discovery/listener-definition.js';
import type { ListenerRegistry } from '../discovery/listener.registry.js';
import { UnrecoverableError } from '../errors/unrecoverable.error.js';
import { serializeEnvelope } from '../event/event.serializer.js';
import { wireEnvelope } from '../event/event-schema.js';
import type { ResolvedEventsOptions } from '../events.options.js';
import { ReleaseJobSignal } from '../middleware/release-job.signal.js';
import type { NewJob } from '../queue/queue-job.js';
import type { QueueTransport } from '../queue/queue-transport.interface.js';
import type { Worker } from '../queue/worker.js';
import { INBOUND_LISTENER, INBOUND_QUEUE } from './inbound.constants.js';
import { ListenerDirectory } from './listener.directory.js';

/** What the fan-out needs of the app it runs in. */
export interface InboundFanOutHost {
  readonly options: ResolvedEventsOptions;
  readonly transport: QueueTransport;
  readonly registry: ListenerRegistry;
  readonly worker: Worker;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.floor(value)));
}

/**
 * The inbound side of `EventsClient`, run by every worker app of a prefix (an `EventsModule`
 * worker or an `EventsServer`): it registers the app's queued listeners in the prefix's
 * `ListenerDirectory`, and fans each inbound event out to every registered listener, of this app
 * or of any other. An event no registered listener matches waits (it is put back, not counted as
 * an attempt) until it is `windowMs` old, then goes to the dead letters of `events.inbound`.
 *
 * Several apps may share a queue (`default`) with different listeners: a worker that takes a job
 * of a listener another app registered puts it back for that app's workers instead of
 * dead-lettering it as unknown (`Worker.unknownListener`).
 */
export class InboundFanOut {
  private readonly logger = new Logger(InboundFanOut.name);

  private constructor(
    private readonly host: InboundFanOutHost,
    private readonly directory: ListenerDirectory,
  ) {}

  /** Connects the directory. @throws TransportError */
  static async connect(host: InboundFanOutHost, windowMs: number): Promise<InboundFanOut> {
    return new InboundFanOut(host, await ListenerDirectory.connect(host.options, windowMs));
  }

  /**
   * Registers the inbound listener in the app (once), so that its worker works `events.inbound`,
   * and lets the worker put back jobs of listeners that other apps registered.
   */
  install(): void {
    if (!this.host.registry.get(INBOUND_LISTENER)) this.host.registry.add(this.inboundListener());
    this.host.worker.unknownListener = async (job) => {
      if (job.queue === INBOUND_QUEUE || !(await this.directory.has(job.listener)))
        return undefined;
      // Soon while the job is young, less often as it ages (its app's workers may be down).
      return clamp((Date.now() - job.enqueuedAt) / 8, 200, 30_000);
    };
  }

  /**
   * Registers the app's queued listeners in the directory (those new to it get the events fanned
   * out in the last window).
   */
  async announce(): Promise<void> {
    // Every queued listener of the app, also on queues this process leaves to other replicas:
    // their jobs wait in Redis for those.
    const mine = this.host.registry.all().filter((l) => l.queue && l.id !== INBOUND_LISTENER);
    const caughtUp = await this.directory.register(mine, this.store);
    if (caughtUp > 0) {
      this.logger.log(
        `Listeners new to prefix "${this.host.options.prefix}": ${caughtUp} recent event job(s) stored for them`,
      );
    }
  }

  /** Closes the directory's connection. Idempotent. */
  async close(): Promise<void> {
    await this.directory.close();
  }

  private readonly store = (jobs: NewJob[]): Promise<void> => this.host.transport.enqueue(jobs);

  private inboundListener(): ListenerDefinition {
    const { options } = this.host;
    const windowMs = this.directory.windowMs;
    return {
      id: INBOUND_LISTENER,
      patterns: [],
      priority: 0,
      info: {
        id: INBOUND_LISTENER,
        className: 'EventsServer',
        methodName: 'inbound',
        isQueued: true,
      },
      invoke: async (event) => {
        // Fanned out as it was stored (a schema's input): each listener's worker runs the schema.
        const { attempt: _attempt, ...envelope } = wireEnvelope(event);
        const payload = serializeEnvelope(envelope, options.maxPayloadBytes);
        const reached = await this.directory.fanOut(
          envelope.id,
          envelope.name,
          payload,
          this.store,
        );
        if (reached > 0) return;
        const age = Date.now() - envelope.timestamp;
        if (age >= windowMs) {
          throw new UnrecoverableError(
            `No queued listener or @EventPattern handler of any worker app of prefix "${options.prefix}" registered for "${envelope.name}" within ${windowMs} ms of its emit`,
          );
        }
        // Wait for a listener: soon while the event is young, less often as it ages.
        throw new ReleaseJobSignal(clamp(age / 4, 250, Math.min(10_000, windowMs - age)));
      },
      queue: {
        queue: INBOUND_QUEUE,
        // Fan-out fails only when Redis does: retry for a while before giving up.
        tries: 10,
        backoff: { type: 'exponential', delay: 100, maxDelay: 10_000, jitter: 0.5 },
        delay: 0,
        timeout: 0,
      },
      eventClasses: [],
    };
  }
}
