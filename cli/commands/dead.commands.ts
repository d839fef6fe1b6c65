import type { Command } from 'commander';
import { EventQueues, type DeadJob } from 'nestjs-events';
import { connectionOf, integerAtLeast, positiveNumber } from '../cli.options.js';
import { confirm } from '../cli.confirm.js';
import { openEventsContext, withContext } from '../cli.context.js';
import { isoTime, oneLine, table, toJson, type CliOutput } from '../cli.output.js';
import { UsageError } from '../errors/usage.error.js';

/** A dead job as `--json` prints it: the parsed event, or the stored text when it did not parse. */
function deadJson(job: DeadJob): Record<string, unknown> {
  const { rawPayload, payload, ...rest } = job;
  return payload === undefined ? { ...rest, rawPayload } : { ...rest, payload };
}

/** `dead:list`, `dead:retry`, `dead:forget`, `dead:purge`, `dead:prune`. */
export function registerDeadCommands(program: Command, io: CliOutput): void {
  program
    .command('dead:list')
    .description("list a queue's dead letters, oldest first")
    .argument('<queue>', 'queue name')
    .option('--offset <n>', 'skip this many', integerAtLeast(0), 0)
    .option('--limit <n>', 'list at most this many', integerAtLeast(1), 50)
    .option('--after <id>', 'start after this dead job (the last id of the previous page)')
    .option('--tag <tag>', "only the jobs whose event's tags() gave this tag")
    .option('--json', 'print JSON')
    .action(async (queue: string, opts, command: Command) => {
      await withContext(openEventsContext(connectionOf(command)), async (app) => {
        const jobs = await app.get(EventQueues).listDead(queue, {
          offset: opts.offset,
          limit: opts.limit,
          after: opts.after,
          tag: opts.tag,
        });
        if (opts.json) {
          io.out.write(`${toJson(jobs.map(deadJson))}\n`);
          return;
        }
        if (jobs.length === 0) {
          const tagged = opts.tag === undefined ? '' : ` tagged "${opts.tag}"`;
          io.out.write(`No dead jobs${tagged} in "${queue}".\n`);
          return;
        }
        io.out.write(
          table(
            ['ID', 'EVENT', 'LISTENER', 'ATTEMPTS', 'REASON', 'FAILED AT', 'TAGS', 'ERROR'],
            jobs.map((job) => [
              job.id,
              job.payload?.name ?? '?',
              job.listener,
              String(job.attempts),
              job.reason,
              isoTime(job.failedAt),
              job.tags.join(',') || '-',
              oneLine(job.error),
            ]),
          ),
        );
      });
    });

  program
    .command('dead:retry')
    .description('give dead jobs a new round of attempts')
    .argument('<queue>', 'queue name')
    .argument('[ids...]', 'dead job ids')
    .option('--all', 'every dead job of the queue')
    .option('--json', 'print JSON')
    .action(async (queue: string, ids: string[], opts, command: Command) => {
      if (opts.all ? ids.length > 0 : ids.length === 0) {
        throw new UsageError('dead:retry: give dead job ids, or --all (not both).');
      }
      await withContext(openEventsContext(connectionOf(command)), async (app) => {
        const queues = app.get(EventQueues);
        const missing: string[] = [];
        let retried = 0;
        if (opts.all) retried = await queues.retryDead(queue, 'all');
        for (const id of ids) {
          const moved = await queues.retryDead(queue, id);
          if (moved === 0) missing.push(id);
          retried += moved;
        }
        if (opts.json) io.out.write(`${toJson({ queue, retried, missing })}\n`);
        else io.out.write(`Retried ${retried} dead job(s) of "${queue}".\n`);
        for (const id of missing) io.err.write(`No dead job "${id}" in "${queue}".\n`);
        if (missing.length > 0) process.exitCode = 1;
      });
    });

  program
    .command('dead:forget')
    .description('delete one dead job')
    .argument('<queue>', 'queue name')
    .argument('<id>', 'dead job id')
    .option('--force', 'do not ask')
    .action(async (queue: string, id: string, opts, command: Command) => {
      await withContext(openEventsContext(connectionOf(command)), async (app) => {
        await confirm(`Delete dead job "${id}" of "${queue}"?`, opts);
        if (await app.get(EventQueues).forgetDead(queue, id)) {
          io.out.write(`Deleted dead job "${id}" of "${queue}".\n`);
        } else {
          io.err.write(`No dead job "${id}" in "${queue}".\n`);
          process.exitCode = 1;
        }
      });
    });

  program
    .command('dead:purge')
    .description('delete every dead job of a queue')
    .argument('<queue>', 'queue name')
    .option('--force', 'do not ask')
    .action(async (queue: string, opts, command: Command) => {
      await withContext(openEventsContext(connectionOf(command)), async (app) => {
        const queues = app.get(EventQueues);
        const { dead } = await queues.counts(queue);
        await confirm(`Delete all ${dead} dead job(s) of "${queue}"?`, opts);
        const purged = await queues.purgeDead(queue);
        io.out.write(`Deleted ${purged} dead job(s) of "${queue}".\n`);
      });
    });

  program
    .command('dead:prune')
    .description('delete the dead jobs that died more than --hours ago')
    .argument('<queue>', 'queue name')
    .requiredOption('--hours <n>', 'age in hours (decimals allowed)', positiveNumber)
    .option('--force', 'do not ask')
    .action(async (queue: string, opts, command: Command) => {
      await withContext(openEventsContext(connectionOf(command)), async (app) => {
        await confirm(`Delete the dead jobs of "${queue}" older than ${opts.hours} h?`, opts);
        const olderThanMs = Math.round(opts.hours * 3_600_000);
        const pruned = await app.get(EventQueues).pruneDead(queue, { olderThanMs });
        io.out.write(`Deleted ${pruned} dead job(s) of "${queue}".\n`);
      });
    });
}
