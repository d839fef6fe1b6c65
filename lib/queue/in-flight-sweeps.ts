import type { Logger } from '@nestjs/common';
import type { InFlight } from './in-flight.js';
import { lostOwnership } from './job-runner.js';
import type { QueueTransport } from './queue-transport.interface.js';

/**
 * The worker's timed sweeps over its in-flight jobs: heartbeats that extend what this process
 * holds (and abort the attempts whose jobs another worker took), and the long-running warning.
 */
export class InFlightSweeps {
  private heartbeat: NodeJS.Timeout | undefined;
  private longRunning: NodeJS.Timeout | undefined;
  private isBeating = false;
  /** A beat was asked for while one was running: run another as soon as it ends. */
  private isBeatDue = false;
  private stopReconnects: (() => void) | undefined;

  /** @param logger the worker's, so that what the sweeps report reads as the worker's. */
  constructor(
    private readonly transport: QueueTransport,
    private readonly inFlight: InFlight,
    private readonly logger: Logger,
  ) {}

  /**
   * Heartbeats every third of `visibilityTimeoutMs`; warnings about attempts running longer than
   * `longRunningWarningMs` (0: none).
   */
  start(visibilityTimeoutMs: number, longRunningWarningMs: number): void {
    const interval = Math.max(50, Math.floor(visibilityTimeoutMs / 3));
    this.heartbeat = setInterval(() => void this.beat(), interval);
    this.heartbeat.unref();
    // After a drop, at once: other workers' reclaims wait `visibilityTimeout` from their own
    // reconnect, and the jobs held here must look alive to them before that.
    this.stopReconnects = this.transport.onReconnect?.(() => void this.beat());
    if (longRunningWarningMs > 0) {
      // A sweep rather than a timer per job: the hot path pays nothing for the warning.
      this.longRunning = setInterval(
        () => this.reportLongRunning(longRunningWarningMs),
        Math.max(20, Math.min(1000, Math.floor(longRunningWarningMs / 4))),
      );
      this.longRunning.unref();
    }
  }

  /** Stops both sweeps (idempotent). */
  stop(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.longRunning) clearInterval(this.longRunning);
    this.stopReconnects?.();
    this.stopReconnects = undefined;
  }

  /** Warns once per attempt about jobs running longer than `worker.longRunningWarningMs`. */
  private reportLongRunning(longMs: number): void {
    const now = Date.now();
    for (const running of this.inFlight.running.values()) {
      if (running.isReportedLong || now - running.startedAt < longMs) continue;
      running.isReportedLong = true;
      const { job } = running;
      this.logger.warn(
        `Job ${job.id} of queue "${job.queue}" (listener ${job.listener}, attempt ${job.attempt}) has been running for ${now - running.startedAt} ms: it holds one of its queue's slots until it settles; give the listener a timeout (@ShouldQueue({ timeout })) if it may hang`,
      );
    }
  }

  /** Extends what this process holds; aborts the attempts whose jobs it no longer holds. */
  private async beat(): Promise<void> {
    if (this.isBeating) {
      this.isBeatDue = true;
      return;
    }
    const jobs = this.inFlight.held();
    if (jobs.length === 0) return;
    this.isBeating = true;
    try {
      const lost = await this.transport.heartbeat(jobs);
      for (const job of lost) {
        if (this.inFlight.lose(job, lostOwnership(job))) {
          this.logger.warn(
            `Job ${job.id} of queue "${job.queue}" was taken by another worker (lost-ownership): its attempt here is aborted`,
          );
        }
      }
    } catch (error) {
      this.logger.warn(`Heartbeat failed: ${String(error)}`);
    } finally {
      this.isBeating = false;
    }
    if (this.isBeatDue) {
      this.isBeatDue = false;
      await this.beat();
    }
  }
}
