import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import type { FileHost } from '../../schematics/core/file-host.js';
import {
  generateEvent,
  generateListener,
  type GeneratedFile,
} from '../../schematics/core/generators.js';
import type { CliOutput } from '../cli.output.js';

/** The project on disk, from `root`. */
function diskHost(root: string): FileHost {
  const at = (path: string) => join(root, path);
  return {
    exists: (path) => existsSync(at(path)),
    read: (path) => (existsSync(at(path)) ? readFileSync(at(path), 'utf8') : undefined),
    list: (dir) => {
      if (!existsSync(at(dir))) return { files: [], dirs: [] };
      const entries = readdirSync(at(dir), { withFileTypes: true });
      return {
        files: entries.filter((e) => e.isFile()).map((e) => e.name),
        dirs: entries.filter((e) => e.isDirectory()).map((e) => e.name),
      };
    },
    write: (path, content) => {
      mkdirSync(dirname(at(path)), { recursive: true });
      writeFileSync(at(path), content);
    },
  };
}

function report(io: CliOutput, files: readonly GeneratedFile[]): void {
  for (const file of files) io.out.write(`${file.action.toUpperCase()} ${file.path}\n`);
}

/** `make:event` and `make:listener`: the schematics' generators, for projects without the Nest CLI. */
export function registerMakeCommands(program: Command, io: CliOutput): void {
  program
    .command('make:event')
    .description(
      'write <path>/<name>.event.ts: a class event with its static eventName (and its entry in the typed event map, when the project has one)',
    )
    .argument('<class>', 'PascalCase class name, e.g. OrderShipped')
    .option('--name <event>', 'the event name (default: the class name dotted, order.shipped)')
    .option('--path <dir>', 'directory, from the project root', 'src')
    .option('--force', 'overwrite a file that exists')
    .option('--project <dir>', 'the project root (default: the current directory)')
    .action((className: string, opts) => {
      report(
        io,
        generateEvent(diskHost(opts.project ?? process.cwd()), {
          className,
          eventName: opts.name,
          path: opts.path,
          force: opts.force,
        }),
      );
    });

  program
    .command('make:listener')
    .description('write a listener provider and its spec, and add it to the nearest module')
    .argument('<class>', 'PascalCase class name, e.g. SendOrderConfirmation')
    .requiredOption('--event <class>', 'the event class it listens to, e.g. OrderShipped')
    .option('--queued', 'run it from a queue (@ShouldQueue, with an onFailed hook)')
    .option('--queue <name>', 'the queue (implies --queued)')
    .option('--path <dir>', 'directory, from the project root', 'src')
    .option('--skip-import', 'do not add it to the nearest module')
    .option('--force', 'overwrite files that exist')
    .option('--project <dir>', 'the project root (default: the current directory)')
    .action((className: string, opts) => {
      report(
        io,
        generateListener(diskHost(opts.project ?? process.cwd()), {
          className,
          event: opts.event,
          queued: opts.queued,
          queue: opts.queue,
          path: opts.path,
          force: opts.force,
          skipImport: opts.skipImport,
        }),
      );
    });
}
