import type { Command } from 'commander';
import { EventQueues, type QueueActivity } from 'nestjs-events';
import { connectionOf } from '../cli.options.js';
import { openEventsContext, withContext } from '../cli.context.js';
import { oneLine, toJson, type CliOutput } from '../cli.output.js';

/** One line of the human tail. */
function describe(activity: QueueActivity): string {
  const time = new Date().toISOString().slice(11, 23);
  const { job } = activity;
  const event = job.payload?.name ?? '(unparsable)';
  if (activity.type === 'dead') {
    return `${time}  dead  ${job.queue}  ${event}  ${job.id}  ${activity.job.reason}: ${oneLine(activity.job.error)}`;
  }
  const retry = activity.job.attemptsMade > 0 ? `  (retry, ${activity.job.attemptsMade} made)` : '';
  return `${time}  job   ${job.queue}  ${event}  ${job.id}${retry}`;
}

/** `tail [pattern]`: jobs entering queues and dead letters, live, until Ctrl-C. */
export function registerTailCommand(program: Command, io: CliOutput): void {
  program
    .command('tail')
    .description('print jobs entering queues and dead letters, live (Ctrl-C stops)')
    .argument('[pattern]', 'only events whose name matches (wildcards * and **)')
    .option('--queue <name...>', 'only these queues (default: every queue, new ones included)')
    .option('--json', 'print one JSON object per line')
    .action(async (pattern: string | undefined, opts, command: Command) => {
      await withContext(openEventsContext(connectionOf(command)), async (app) => {
        const controller = new AbortController();
        const stop = (): void => controller.abort();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        try {
          const activity = await app.get(EventQueues).watch({
            queues: opts.queue,
            pattern,
            signal: controller.signal,
          });
          io.err.write(`Watching ${opts.queue ? opts.queue.join(', ') : 'every queue'}…\n`);
          for await (const entry of activity) {
            io.out.write(
              opts.json
                ? `${toJson({ type: entry.type, at: Date.now(), job: entry.job }, 0)}\n`
                : `${describe(entry)}\n`,
            );
          }
        } finally {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
        }
      });
    });
}
