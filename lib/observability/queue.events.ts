/** What a backlog threshold watches: jobs waiting, the oldest waiting job's age, dead jobs. */
export type QueueMeasure = 'waiting' | 'lagMs' | 'dead';

/**
 * Emitted once when a queue of `forRoot({ monitor })` goes past a threshold (one process of all
 * those monitoring emits it); its listeners send the alert.
 *
 * @example
 * @OnEvent(QueueBusy)
 * alert(event: EventEnvelope<QueueBusy>) { this.pager.send(`${event.data.queue} is busy`); }
 */
export class QueueBusy {
  static readonly eventName = 'events.queue.busy';

  constructor(
    /** The queue. */
    readonly queue: string,
    /** Which threshold: `waiting` (`maxWaiting`), `lagMs` (`maxLagMs`) or `dead` (`maxDead`). */
    readonly measure: QueueMeasure,
    /** What was read: jobs waiting, ms the oldest waiting job has waited, or dead jobs. */
    readonly reading: number,
    /** The threshold it went past. */
    readonly threshold: number,
  ) {}
}

/** Emitted once when a queue that was `QueueBusy` on a measure is back at or under its threshold. */
export class QueueRecovered {
  static readonly eventName = 'events.queue.recovered';

  constructor(
    readonly queue: string,
    readonly measure: QueueMeasure,
    readonly reading: number,
    readonly threshold: number,
  ) {}
}
