import type { Command } from 'commander';
import { EventQueues, type QueueCounts } from 'nestjs-events';
import { connectionOf, integerAtLeast } from '../cli.options.js';
import { confirm } from '../cli.confirm.js';
import { openEventsContext, withContext } from '../cli.context.js';
import { table, toJson, type CliOutput } from '../cli.output.js';
import { CommandFailedError } from '../errors/command-failed.error.js';

const COUNT_COLUMNS = ['waiting', 'delayed', 'active', 'completed', 'failed', 'dead'] as const;

/** `queues`, `queue:obliterate`, `queue:pause`, `queue:resume`, `monitor`. */
export function registerQueueCommands(program: Command, io: CliOutput): void {
  program
    .command('queues')
    .description('list the queues with their counts')
    .option('--json', 'print JSON')
    .action(async (opts, command: Command) => {
      await withContext(openEventsContext(connectionOf(command)), async (app) => {
        const queues = app.get(EventQueues);
        const counts = await queues.counts();
        const rows: (QueueCounts & { queue: string; paused: boolean })[] = [];
        for (const [queue, c] of Object.entries(counts)) {
          rows.push({ queue, ...c, paused: await queues.isPaused(queue) });
        }
        if (opts.json) {
          io.out.write(`${toJson(rows)}\n`);
        } else if (rows.length === 0) {
          io.out.write('No queues.\n');
        } else {
          io.out.write(
            table(
              ['QUEUE', ...COUNT_COLUMNS.map((c) => c.toUpperCase()), 'PAUSED'],
              rows.map((r) => [
                r.queue,
                ...COUNT_COLUMNS.map((c) => String(r[c])),
                r.paused ? 'yes' : 'no',
              ]),
            ),
          );
        }
      });
    });

  program
    .command('queue:obliterate')
    .description('remove every job (waiting, delayed, running, dead) and key of a queue')
    .argument('<queue>', 'queue name')
    .option('--force', 'do not ask')
    .option('--in-use', 'even while workers read the queue (their running jobs are dropped)')
    .action(async (queue: string, opts, command: Command) => {
      await withContext(openEventsContext(connectionOf(command)), async (app) => {
        await confirm(`Remove every job and key of queue "${queue}"?`, opts);
        const removed = await app
          .get(EventQueues)
          .obliterate(queue, { force: opts.inUse === true });
        io.out.write(`Obliterated "${queue}": ${removed} job(s) removed.\n`);
      });
    });

  for (const [name, verb] of [
    ['queue:pause', 'pause'],
    ['queue:resume', 'resume'],
  ] as const) {
    program
      .command(name)
      .description(
        verb === 'pause'
          ? 'workers of every process stop taking the queue’s jobs'
          : 'workers take the queue’s jobs again',
      )
      .argument('<queue>', 'queue name')
      .action(async (queue: string, _opts, command: Command) => {
        await withContext(openEventsContext(connectionOf(command)), async (app) => {
          await app.get(EventQueues)[verb](queue);
          io.out.write(`${verb === 'pause' ? 'Paused' : 'Resumed'} "${queue}".\n`);
        });
      });
  }

  program
    .command('monitor')
    .description('check queue backlogs: exit code 1 when a queue has more than --max waiting jobs')
    .argument('<queues...>', 'queue names')
    .requiredOption('--max <n>', 'the most waiting jobs allowed', integerAtLeast(0))
    .option('--json', 'print JSON')
    .action(async (names: string[], opts, command: Command) => {
      await withContext(openEventsContext(connectionOf(command)), async (app) => {
        const queues = app.get(EventQueues);
        const rows: { queue: string; waiting: number; max: number; isOver: boolean }[] = [];
        for (const queue of names) {
          const { waiting } = await queues.counts(queue);
          rows.push({ queue, waiting, max: opts.max, isOver: waiting > opts.max });
        }
        if (opts.json) io.out.write(`${toJson(rows)}\n`);
        else {
          io.out.write(
            table(
              ['QUEUE', 'WAITING', 'MAX', 'STATUS'],
              rows.map((r) => [
                r.queue,
                String(r.waiting),
                String(r.max),
                r.isOver ? 'OVER' : 'ok',
              ]),
            ),
          );
        }
        const over = rows.filter((r) => r.isOver).map((r) => `"${r.queue}" (${r.waiting})`);
        if (over.length > 0) {
          throw new CommandFailedError(`${over.join(', ')} over ${opts.max} waiting job(s).`);
        }
      });
    });
}
