import { Logger } from '@nestjs/common';
import type { ListenerDefinition } from '../discovery/listener-definition.js';
import type { ListenerRegistry } from '../discovery/listener.registry.js';
import { UnrecoverableError } from '../errors/unrecoverable.error.js';
import { serializeEnvelope } from '../event/event.serializer.js';
import type { ResolvedEventsOptions } from '../events.options.js';
import { ReleaseJobSignal } from '../middleware/release-job.signal.js';
import type { NewJob } from '../queue/queue-job.js';
import type { QueueTransport } from '../queue/queue-transport.interface.js';
import { INBOUND_LISTENER, INBOUND_QUEUE } from './inbound.constants.js';
import { ListenerDirectory, type DirectoryEntry } from './listener.directory.js';

/** How often (ms) a worker app looks for listeners that other apps registered on its queues. */
const ADOPT_EVERY_MS = 5000;

/** What the fan-out needs of the app it runs in. */
export interface InboundFanOutHost {
  readonly options: ResolvedEventsOptions;
  readonly transport: QueueTransport;
  readonly registry: ListenerRegistry;
  /** The queues this app's worker works on (asked once the worker's plan is known). */
  queues(): readonly string[];
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
 * dead-lettering it as unknown (see `adopt`).
 */
export class InboundFanOut {
  private readonly logger = new Logger(InboundFanOut.name);
  private readonly adopted = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly host: InboundFanOutHost,
    private readonly directory: ListenerDirectory,
  ) {}

  /** Connects the directory. @throws TransportError */
  static async connect(host: InboundFanOutHost, windowMs: number): Promise<InboundFanOut> {
    return new InboundFanOut(host, await ListenerDirectory.connect(host.options, windowMs));
  }

  /** Registers the inbound listener in the app (once), so that its worker works `events.inbound`. */
  install(): void {
    if (!this.host.registry.get(INBOUND_LISTENER)) this.host.registry.add(this.inboundListener());
  }

  /**
   * Registers the app's queued listeners in the directory (those new to it get the events fanned
   * out in the last window), and starts adopting other apps' listeners.
   */
  async announce(): Promise<void> {
    // Every queued listener of the app, also on queues this process leaves to other replicas:
    // their jobs wait in Redis for those.
    const mine = this.host.registry
      .all()
      .filter((l) => l.queue && l.id !== INBOUND_LISTENER && !this.adopted.has(l.id));
    const caughtUp = await this.directory.register(mine, this.store);
    if (caughtUp > 0) {
      this.logger.log(
        `Listeners new to prefix "${this.host.options.prefix}": ${caughtUp} recent event job(s) stored for them`,
      );
    }
    await this.adopt();
    this.timer ??= setInterval(() => {
      this.adopt().catch((error: unknown) =>
        this.logger.warn(`Reading the listener directory failed: ${String(error)}`),
      );
    }, ADOPT_EVERY_MS);
    this.timer.unref();
  }

  /** Stops adopting and closes the directory's connection. Idempotent. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
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
        const { attempt: _attempt, ...envelope } = event;
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

  /**
   * Registers, in this app, a stand-in for each listener that another app registered on a queue
   * this app works on: a job of it is put back (not counted as an attempt) for that app's
   * workers. A listener gone from the directory loses its stand-in.
   */
  private async adopt(): Promise<void> {
    const queues = new Set(this.host.queues());
    const entries = await this.directory.entries();
    const { registry } = this.host;
    for (const entry of entries) {
      if (!queues.has(entry.queue) || registry.get(entry.id)) continue;
      registry.add(this.standIn(entry));
      this.adopted.add(entry.id);
    }
    const known = new Set(entries.map((e) => e.id));
    for (const id of this.adopted) {
      if (!known.has(id)) {
        registry.remove(id);
        this.adopted.delete(id);
      }
    }
  }

  private standIn(entry: DirectoryEntry): ListenerDefinition {
    return {
      id: entry.id,
      // No pattern: the bus of this app never emits to it.
      patterns: [],
      priority: 0,
      info: { id: entry.id, className: 'ListenerDirectory', methodName: 'standIn', isQueued: true },
      invoke: (event) => {
        throw new ReleaseJobSignal(clamp((Date.now() - event.timestamp) / 8, 200, 30_000));
      },
      queue: { queue: entry.queue, tries: 1, backoff: 0, delay: 0, timeout: 0 },
      eventClasses: [],
    };
  }
}
