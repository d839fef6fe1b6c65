import type { Logger } from '@nestjs/common';
import type { InFlight } from './in-flight.js';
import { SHUTDOWN_REASON } from './job-runner.js';

const SHUTDOWN = Symbol('shutdown');

/**
 * The timed part of a worker's shutdown, once its loops were told to stop: waits for the loops
 * (they put their read-ahead jobs back), then for running attempts, then for settles in flight,
 * all within one deadline of `shutdownTimeoutMs`. Past it, running attempts are aborted (left
 * pending) and settles still being retried give up (`abandoning`): shutdown never waits for
 * Redis forever.
 * @param logger the worker's, so that the warning reads as the worker's.
 */
export async function drainWithin(
  shutdownTimeoutMs: number,
  loops: readonly Promise<void>[],
  inFlight: InFlight,
  abandoning: AbortController,
  logger: Logger,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<typeof SHUTDOWN>((resolve) => {
    timer = setTimeout(() => resolve(SHUTDOWN), shutdownTimeoutMs);
  });
  const isLate = async (work: Promise<unknown>): Promise<boolean> =>
    (await Promise.race([work, deadline])) === SHUTDOWN;
  if (await isLate(Promise.all(loops))) abandoning.abort();
  await Promise.all(loops);
  const running = inFlight.running;
  if (running.size > 0 && (await isLate(Promise.all([...running.values()].map((r) => r.done))))) {
    logger.warn(
      `${running.size} job(s) still running at the shutdown deadline: aborted and left pending`,
    );
    for (const r of running.values()) r.controller.abort(SHUTDOWN_REASON);
    abandoning.abort();
  }
  // Acks still in flight: shutdown completes once they are done or given up.
  const settling = inFlight.settling;
  const settled = async (): Promise<void> => {
    while (settling.size > 0) await Promise.all([...settling.keys()]);
  };
  if (settling.size > 0 && (await isLate(settled()))) abandoning.abort();
  await settled();
  clearTimeout(timer);
}
