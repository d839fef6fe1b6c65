import type { Command } from 'commander';
import { EventBus, EventReplayer, type ReplayOptions } from 'nestjs-events';
import { connectionOf, integerAtLeast } from '../cli.options.js';
import { openAppContext, withContext } from '../cli.context.js';
import { table, toJson, type CliOutput } from '../cli.output.js';
import { UsageError } from '../errors/usage.error.js';

/** A time option: ISO 8601 or milliseconds since the epoch. */
function toTime(option: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) {
    throw new UsageError(`${option}: expected an ISO 8601 time or epoch ms, received "${value}".`);
  }
  return ms;
}

/** `listeners --app` and `replay --app --to`: commands that boot the user's app. */
export function registerAppCommands(program: Command, io: CliOutput): void {
  program
    .command('listeners')
    .description("list the app's listeners (in-process and queued)")
    .requiredOption('--app <module file>', 'the compiled app module (file.js or file.js#Module)')
    .option('--event <name>', 'only the listeners this event reaches')
    .option('--json', 'print JSON')
    .action(async (opts, command: Command) => {
      await withContext(openAppContext(opts.app, connectionOf(command)), async (app) => {
        const listeners = app.get(EventBus).listeners(opts.event);
        if (opts.json) {
          io.out.write(`${toJson(listeners)}\n`);
          return;
        }
        io.out.write(
          table(
            ['LISTENER', 'PATTERNS', 'PRIORITY', 'QUEUE'],
            listeners.map((l) => [
              l.id,
              l.patterns.join(', '),
              String(l.priority),
              l.queue ?? '(in-process)',
            ]),
          ),
        );
      });
    });

  program
    .command('replay')
    .description("re-deliver stored events to a listener (the app's event store)")
    .requiredOption('--app <module file>', 'the compiled app module (file.js or file.js#Module)')
    .requiredOption('--to <listener...>', 'listener class names or listener ids (Class.method)')
    .option('--pattern <pattern...>', 'only events whose name matches')
    .option('--stream <id>', 'only the events of this stream')
    .option('--since <time>', 'only events at or after (ISO 8601 or epoch ms)')
    .option('--until <time>', 'only events at or before (ISO 8601 or epoch ms)')
    .option('--from-position <n>', 'start at this position (a checkpoint)', integerAtLeast(1))
    .option('--progress-every <n>', 'print progress every n events', integerAtLeast(1), 1000)
    .option('--json', 'print the result as JSON')
    .action(async (opts, command: Command) => {
      const since = toTime('--since', opts.since);
      const until = toTime('--until', opts.until);
      await withContext(openAppContext(opts.app, connectionOf(command)), async (app) => {
        const ids = app
          .get(EventBus)
          .listeners()
          .map((l) => l.id);
        const to = (opts.to as string[]).flatMap((target) => {
          if (ids.includes(target)) return [target];
          const ofClass = ids.filter((id) => id.startsWith(`${target}.`));
          if (ofClass.length === 0) {
            throw new UsageError(
              `--to ${target}: no such listener class or id. Listeners: ${ids.join(', ') || 'none'}.`,
            );
          }
          return ofClass;
        });
        const options: ReplayOptions = {
          to,
          pattern: opts.pattern,
          streamId: opts.stream,
          since,
          until,
          fromPosition: opts.fromPosition,
          progressEvery: opts.progressEvery,
          onProgress: (p) =>
            io.err.write(
              `replay: ${p.events} events, ${p.deliveries} deliveries, at position ${p.checkpoint - 1} of ${p.headPosition}\n`,
            ),
        };
        const result = await app.get(EventReplayer).replay(options);
        if (opts.json) io.out.write(`${toJson(result)}\n`);
        else {
          io.out.write(
            `Replayed ${result.events} event(s) (${result.deliveries} deliveries); resume from position ${result.checkpoint}.\n`,
          );
        }
      });
    });
}
