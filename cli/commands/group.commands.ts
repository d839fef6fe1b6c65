import type { Command } from 'commander';
import { EventQueues } from 'nestjs-events';
import { connectionOf, integerAtLeast } from '../cli.options.js';
import { openEventsContext, withContext } from '../cli.context.js';
import { table, toJson, type CliOutput } from '../cli.output.js';

/** `groups`, `group:pause`, `group:resume`: the groups of a queue (`@ShouldQueue({ group })`). */
export function registerGroupCommands(program: Command, io: CliOutput): void {
  program
    .command('groups')
    .description('list the groups of a queue: waiting, active, paused, rate-limited until')
    .argument('<queue>', 'queue name')
    .option('--offset <n>', 'skip this many groups', integerAtLeast(0), 0)
    .option('--limit <n>', 'show at most this many groups', integerAtLeast(1), 50)
    .option('--json', 'print JSON')
    .action(async (queue: string, opts, command: Command) => {
      await withContext(openEventsContext(connectionOf(command)), async (app) => {
        const groups = await app
          .get(EventQueues)
          .groups(queue, { offset: opts.offset, limit: opts.limit });
        if (opts.json) io.out.write(`${toJson(groups)}\n`);
        else if (groups.length === 0) io.out.write(`No groups in "${queue}".\n`);
        else {
          io.out.write(
            table(
              ['GROUP', 'WAITING', 'ACTIVE', 'PAUSED', 'LIMITED UNTIL'],
              groups.map((g) => [
                g.id,
                String(g.waiting),
                String(g.active),
                g.paused ? 'yes' : 'no',
                g.limitedUntil === undefined ? '' : new Date(g.limitedUntil).toISOString(),
              ]),
            ),
          );
        }
      });
    });

  for (const [name, verb] of [
    ['group:pause', 'pauseGroup'],
    ['group:resume', 'resumeGroup'],
  ] as const) {
    program
      .command(name)
      .description(
        verb === 'pauseGroup'
          ? 'workers of every process start none of the group’s jobs; other groups go on'
          : 'workers start the group’s jobs again',
      )
      .argument('<queue>', 'queue name')
      .argument('<group>', 'group id')
      .action(async (queue: string, group: string, _opts, command: Command) => {
        await withContext(openEventsContext(connectionOf(command)), async (app) => {
          await app.get(EventQueues)[verb](queue, group);
          const done = verb === 'pauseGroup' ? 'Paused' : 'Resumed';
          io.out.write(`${done} group "${group}" of "${queue}".\n`);
        });
      });
  }
}
