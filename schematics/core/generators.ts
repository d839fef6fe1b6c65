import { GeneratorInputError } from './generator-input.error.js';
import { importPath, joinPath, type FileHost } from './file-host.js';
import { addEventMapEntry, findEventMapFile } from './event-map-edit.js';
import { addProvider, findNearestModule } from './module-edit.js';
import {
  assertClassName,
  assertEventName,
  assertQueueName,
  dottedName,
  kebabCase,
} from './names.js';
import { eventTemplate, listenerSpecTemplate, listenerTemplate } from './templates.js';

/** What a generator did to one file. */
export interface GeneratedFile {
  readonly path: string;
  readonly action: 'create' | 'overwrite' | 'update';
}

/** Options of `make:event` / `nest g -c nestjs-events event`. */
export interface EventGeneratorOptions {
  /** The class name, PascalCase: `OrderShipped`. */
  readonly className: string;
  /** The event name. @default the class name dotted: `order.shipped` */
  readonly eventName?: string;
  /** The directory to write to, from the project root. @default 'src' */
  readonly path?: string;
  /** Replace a file that exists. @default false */
  readonly force?: boolean;
}

/** Options of `make:listener` / `nest g -c nestjs-events listener`. */
export interface ListenerGeneratorOptions {
  /** The class name, PascalCase: `SendOrderConfirmation`. */
  readonly className: string;
  /** The event class it listens to (found as `<kebab>.event.ts` under the project). */
  readonly event: string;
  /** Run from a queue (`@ShouldQueue`, with an `onFailed` method). @default false */
  readonly queued?: boolean;
  /** The queue (implies `queued`). @default the module's default queue */
  readonly queue?: string;
  /** The directory to write to, from the project root. @default 'src' */
  readonly path?: string;
  /** Replace files that exist. @default false */
  readonly force?: boolean;
  /** Do not add the provider to the nearest module. @default false */
  readonly skipImport?: boolean;
}

/** `.js` for ESM projects (`"type": "module"`), none for CommonJS ones (Nest's default). */
function importExtension(host: FileHost): string {
  try {
    return JSON.parse(host.read('package.json') ?? '{}').type === 'module' ? '.js' : '';
  } catch {
    return '';
  }
}

function writeNew(host: FileHost, path: string, content: string, force: boolean): GeneratedFile {
  const exists = host.exists(path);
  if (exists && !force) {
    throw new GeneratorInputError(`${path} exists: pass --force to overwrite it.`);
  }
  host.write(path, content);
  return { path, action: exists ? 'overwrite' : 'create' };
}

/**
 * Writes `<path>/<kebab>.event.ts`: a class event with its `static readonly eventName`; and, when
 * the project declares a typed event map (`interface EventMap` in `declare module
 * 'nestjs-events'`), adds the event's entry to it (unless it has that name already).
 */
export function generateEvent(host: FileHost, options: EventGeneratorOptions): GeneratedFile[] {
  assertClassName('The event class', options.className);
  const eventName = options.eventName ?? dottedName(options.className);
  assertEventName(eventName);
  const file = joinPath(options.path ?? 'src', `${kebabCase(options.className)}.event.ts`);
  const written = [
    writeNew(host, file, eventTemplate(options.className, eventName), !!options.force),
  ];
  const map = findEventMapFile(host);
  if (map !== undefined) {
    const edited = addEventMapEntry(
      host.read(map) ?? '',
      eventName,
      options.className,
      importPath(map, file, importExtension(host)),
    );
    if (edited !== undefined) {
      host.write(map, edited);
      written.push({ path: map, action: 'update' });
    }
  }
  return written;
}

/** The event class's file: `<kebab>.event.ts` anywhere under `root` (node_modules and dist aside). */
function findEventFile(host: FileHost, root: string, className: string): string | undefined {
  const wanted = `${kebabCase(className)}.event.ts`;
  const queue = [root];
  while (queue.length > 0) {
    const dir = queue.shift() as string;
    const { files, dirs } = host.list(dir);
    if (files.includes(wanted)) return joinPath(dir, wanted);
    for (const sub of dirs.sort()) {
      if (!['node_modules', 'dist', '.git'].includes(sub)) queue.push(joinPath(dir, sub));
    }
  }
  return undefined;
}

/**
 * Writes `<path>/<kebab>.listener.ts` (a provider with `@OnEvent(Event)`, plus `@ShouldQueue` and
 * `onFailed` when queued) and its spec (using `EventFacade`), and adds the provider to the
 * nearest module.
 */
export function generateListener(
  host: FileHost,
  options: ListenerGeneratorOptions,
): GeneratedFile[] {
  assertClassName('The listener class', options.className);
  assertClassName('--event', options.event);
  if (options.queue !== undefined) assertQueueName(options.queue);
  const dir = options.path ?? 'src';
  const eventFile = findEventFile(host, '', options.event);
  if (!eventFile) {
    throw new GeneratorInputError(
      `No event class ${options.event}: ${kebabCase(options.event)}.event.ts is nowhere in the project. Generate it first (make:event ${options.event}).`,
    );
  }
  const ext = importExtension(host);
  const base = kebabCase(options.className);
  const file = joinPath(dir, `${base}.listener.ts`);
  const spec = joinPath(dir, `${base}.listener.spec.ts`);
  const force = !!options.force;
  for (const path of [file, spec]) {
    if (host.exists(path) && !force) {
      throw new GeneratorInputError(`${path} exists: pass --force to overwrite it.`);
    }
  }
  const queued = options.queued === true || options.queue !== undefined;
  const names = { listener: options.className, event: options.event };
  const written = [
    writeNew(
      host,
      file,
      listenerTemplate(names, importPath(file, eventFile, ext), queued, options.queue),
      force,
    ),
    writeNew(
      host,
      spec,
      listenerSpecTemplate(names, importPath(spec, eventFile, ext), importPath(spec, file, ext)),
      force,
    ),
  ];
  const module = options.skipImport ? undefined : findNearestModule(host, file);
  if (module) {
    const edited = addProvider(
      host.read(module) ?? '',
      options.className,
      importPath(module, file, ext),
    );
    if (edited !== undefined) {
      host.write(module, edited);
      written.push({ path: module, action: 'update' });
    }
  }
  return written;
}
