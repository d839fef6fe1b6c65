import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { INestApplicationContext, LoggerService, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventsModule } from 'nestjs-events';
import { UsageError } from './errors/usage.error.js';

/** The connection flags every command takes. */
export interface ConnectionFlags {
  /** `--redis <url>`: wins over `EVENTS_REDIS_URL`. */
  readonly redis?: string;
  /** `--prefix <prefix>`: wins over `EVENTS_PREFIX`. */
  readonly prefix?: string;
  /** `--verbose`: Nest's own log lines on stderr too. */
  readonly verbose?: boolean;
}

/** Nest's log on stderr (stdout carries the command's data, `--json` included). */
class StderrLogger implements LoggerService {
  constructor(private readonly isVerbose: boolean) {}
  log(message: unknown): void {
    if (this.isVerbose) this.write('LOG', message);
  }
  warn(message: unknown): void {
    this.write('WARN', message);
  }
  error(message: unknown, stack?: unknown): void {
    this.write('ERROR', message);
    if (this.isVerbose && typeof stack === 'string') process.stderr.write(`${stack}\n`);
  }
  private write(level: string, message: unknown): void {
    process.stderr.write(`[nestjs-events] ${level} ${String(message)}\n`);
  }
}

/**
 * An application context of the events module alone, connected to the Redis of `--redis` or
 * `EVENTS_REDIS_URL`, producing only (no worker): the admin commands act through its
 * `EventQueues`, as an app would.
 * @throws UsageError when no Redis is given (an embedded transport in a fresh process is empty).
 */
export async function openEventsContext(flags: ConnectionFlags): Promise<INestApplicationContext> {
  const redis = flags.redis ?? process.env.EVENTS_REDIS_URL;
  if (!redis) {
    throw new UsageError('No Redis to connect to: pass --redis <url> or set EVENTS_REDIS_URL.');
  }
  return NestFactory.createApplicationContext(
    EventsModule.forRoot({ redis, prefix: flags.prefix, worker: false }),
    { logger: new StderrLogger(flags.verbose === true), abortOnError: false },
  );
}

/**
 * The user's application, booted as an application context from its compiled module file
 * (`--app dist/app.module.js`, or `file#ExportName`), with `EVENTS_WORKER=false` so that this
 * process takes no job from the app's queues (unless the module sets `worker` itself).
 * `--redis` and `--prefix` become `EVENTS_REDIS_URL` and `EVENTS_PREFIX` for it.
 * @throws UsageError when the file or its module cannot be found.
 */
export async function openAppContext(
  app: string,
  flags: ConnectionFlags,
): Promise<INestApplicationContext> {
  process.env.EVENTS_WORKER ??= 'false';
  if (flags.redis) process.env.EVENTS_REDIS_URL = flags.redis;
  if (flags.prefix) process.env.EVENTS_PREFIX = flags.prefix;
  const module = await loadAppModule(app);
  return NestFactory.createApplicationContext(module, {
    logger: new StderrLogger(flags.verbose === true),
    abortOnError: false,
  });
}

/** Whether a value is a class decorated with `@Module()`. */
function isNestModule(value: unknown): value is Type {
  if (typeof value !== 'function') return false;
  const keys: unknown[] = Reflect.getMetadataKeys(value) ?? [];
  return ['imports', 'providers', 'controllers', 'exports'].some((key) => keys.includes(key));
}

/** Imports the module file and picks its module: the named export, `AppModule`, or the only one. */
export async function loadAppModule(spec: string): Promise<Type> {
  const hash = spec.lastIndexOf('#');
  const file = hash > 0 ? spec.slice(0, hash) : spec;
  const name = hash > 0 ? spec.slice(hash + 1) : undefined;
  const path = isAbsolute(file) ? file : resolve(process.cwd(), file);
  let exports: Record<string, unknown>;
  try {
    exports = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes(path)) {
      throw new UsageError(`--app ${spec}: no such file (give the compiled .js module file).`);
    }
    throw error;
  }
  const modules = Object.entries(exports).filter(([, value]) => isNestModule(value));
  const chosen = name
    ? modules.find(([key]) => key === name)
    : (modules.find(([key]) => key === 'AppModule') ??
      (modules.length === 1 ? modules[0] : undefined));
  if (!chosen) {
    const found = modules.map(([key]) => key).join(', ') || 'none';
    throw new UsageError(
      `--app ${spec}: ${name ? `no module exported as "${name}"` : 'cannot tell which module to load'} (Nest modules exported: ${found}). Name one with --app ${file}#ModuleName.`,
    );
  }
  return chosen[1] as Type;
}

/** Runs `action` with a context, and closes the context whatever happens. */
export async function withContext<T>(
  open: Promise<INestApplicationContext>,
  action: (context: INestApplicationContext) => Promise<T>,
): Promise<T> {
  const context = await open;
  try {
    return await action(context);
  } finally {
    await context.close();
  }
}
