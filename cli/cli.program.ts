import { Command, CommanderError } from 'commander';
import { EventsError, InvalidOptionError, UnknownQueueError } from 'nestjs-events';
import type { CliOutput } from './cli.output.js';
import { registerAppCommands } from './commands/app.commands.js';
import { registerDeadCommands } from './commands/dead.commands.js';
import { registerGroupCommands } from './commands/group.commands.js';
import { registerMakeCommands } from './commands/make.commands.js';
import { registerQueueCommands } from './commands/queue.commands.js';
import { registerTailCommand } from './commands/tail.command.js';
import { GeneratorInputError } from '../schematics/core/generator-input.error.js';
import { UsageError } from './errors/usage.error.js';

/** Exit codes: 0 done, 1 failed, 2 usage. */
export const EXIT = { done: 0, failed: 1, usage: 2 } as const;

/** The `nestjs-events` program, writing to `io`. */
export function createProgram(io: CliOutput): Command {
  const program = new Command('nestjs-events')
    .description('Queues, dead letters, live tail, replay and generators of nestjs-events')
    .option('--redis <url>', 'Redis URL (default: EVENTS_REDIS_URL)')
    .option('--prefix <prefix>', 'key prefix (default: EVENTS_PREFIX, else "events")')
    .option('--verbose', "Nest's log lines on stderr")
    .configureOutput({
      writeOut: (text) => io.out.write(text),
      writeErr: (text) => io.err.write(text),
    })
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');
  registerQueueCommands(program, io);
  registerGroupCommands(program, io);
  registerDeadCommands(program, io);
  registerTailCommand(program, io);
  registerAppCommands(program, io);
  registerMakeCommands(program, io);
  for (const command of program.commands) {
    command
      .configureOutput({
        writeOut: (text) => io.out.write(text),
        writeErr: (text) => io.err.write(text),
      })
      .exitOverride();
  }
  return program;
}

/** The exit code of an error a command threw. */
function exitCodeOf(error: unknown): number {
  if (error instanceof CommanderError) {
    // Help and version exit 0; every parse error (unknown option, missing argument) is usage.
    return error.exitCode === 0 ? EXIT.done : EXIT.usage;
  }
  if (
    error instanceof UsageError ||
    error instanceof GeneratorInputError ||
    error instanceof InvalidOptionError ||
    error instanceof UnknownQueueError
  ) {
    return EXIT.usage;
  }
  return EXIT.failed;
}

/** Runs the command line `argv` (without node and the script); resolves to the exit code. */
export async function runCli(argv: readonly string[], io: CliOutput): Promise<number> {
  try {
    await createProgram(io).parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.done;
  } catch (error) {
    const code = exitCodeOf(error);
    // Commander printed its own message already.
    if (!(error instanceof CommanderError)) {
      const label = error instanceof EventsError ? error.name : 'Error';
      io.err.write(`${label}: ${(error as Error)?.message ?? String(error)}\n`);
    }
    return code;
  }
}
