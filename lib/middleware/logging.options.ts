import type { LogLevel } from '@nestjs/common';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import type { AttemptOutcome } from './attempt-log.js';

/** DI token of the options a `Logging` resolved by class gets (optional: its defaults otherwise). */
export const LOGGING_OPTIONS = Symbol('LOGGING_OPTIONS');

/** The outcomes of the attempts `Logging` sees (the worker's own lines add `retry` and `dead`). */
type LoggedOutcome = Extract<AttemptOutcome, 'ok' | 'skipped' | 'released' | 'failed'>;

/** Options of `new Logging(options)`. */
export interface LoggingOptions {
  /**
   * `logfmt`: one `key=value` text line per attempt; `json`: one object per attempt with the same
   * fields (a JSON line with `new ConsoleLogger({ json: true })` or a JSON logger such as pino).
   * @default 'logfmt'
   */
  format?: 'logfmt' | 'json';
  /**
   * The Nest log level of each outcome, or `'off'` to leave it out.
   * @default { ok: 'log', skipped: 'log', released: 'log', failed: 'warn' }
   */
  levels?: Partial<Record<LoggedOutcome, LogLevel | 'off'>>;
  /**
   * The share (0 to 1) of successful (`ok`) attempts logged, chosen by event id: every listener
   * and process logs the same events. Other outcomes are always logged.
   * @default 1
   */
  sampleRate?: number;
  /**
   * Metadata keys added to each line (`correlationId`, `tenantId`, `traceparent`, ...).
   * @default []
   */
  metadata?: string[];
  /**
   * Add the payload as the `data` field.
   * @default false
   */
  payload?: boolean;
  /**
   * Payload paths written as `[redacted]` (dot-separated, `*` for every key or index of a level:
   * `'card.number'`, `'users.*.password'`). The payload itself is never changed.
   * @default []
   */
  redact?: string[];
}

/** `LoggingOptions` after defaults and validation. */
export interface ResolvedLoggingOptions {
  readonly format: 'logfmt' | 'json';
  readonly levels: Readonly<Record<LoggedOutcome, LogLevel | 'off'>>;
  readonly sampleRate: number;
  readonly metadata: readonly string[];
  readonly isPayloadLogged: boolean;
  readonly redact: readonly (readonly string[])[];
}

const LEVELS = ['log', 'error', 'warn', 'debug', 'verbose', 'fatal', 'off'];
const OUTCOMES: readonly LoggedOutcome[] = ['ok', 'skipped', 'released', 'failed'];

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string' && v.length > 0);
}

/** @throws InvalidOptionError naming the `Logging` option (`Logging.levels.ok`, ...). */
export function resolveLoggingOptions(options: LoggingOptions): ResolvedLoggingOptions {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('Logging', options, 'an options object');
  }
  const { format = 'logfmt', levels = {}, sampleRate = 1, metadata = [], redact = [] } = options;
  if (format !== 'logfmt' && format !== 'json') {
    throw new InvalidOptionError('Logging.format', format, "'logfmt' or 'json'");
  }
  if (levels === null || typeof levels !== 'object') {
    throw new InvalidOptionError('Logging.levels', levels, 'an object of levels by outcome');
  }
  for (const [outcome, level] of Object.entries(levels)) {
    if (!(OUTCOMES as readonly string[]).includes(outcome)) {
      throw new InvalidOptionError(
        `Logging.levels.${outcome}`,
        level,
        `one of ${OUTCOMES.join(', ')}`,
      );
    }
    if (!LEVELS.includes(level as string)) {
      throw new InvalidOptionError(
        `Logging.levels.${outcome}`,
        level,
        `one of ${LEVELS.join(', ')}`,
      );
    }
  }
  if (typeof sampleRate !== 'number' || !(sampleRate >= 0 && sampleRate <= 1)) {
    throw new InvalidOptionError('Logging.sampleRate', sampleRate, 'a number from 0 to 1');
  }
  if (!isStringArray(metadata)) {
    throw new InvalidOptionError('Logging.metadata', metadata, 'an array of metadata keys');
  }
  if (options.payload !== undefined && typeof options.payload !== 'boolean') {
    throw new InvalidOptionError('Logging.payload', options.payload, 'a boolean');
  }
  if (!isStringArray(redact) || redact.some((path) => path.split('.').includes(''))) {
    throw new InvalidOptionError(
      'Logging.redact',
      redact,
      "an array of paths such as 'card.number'",
    );
  }
  return {
    format,
    levels: { ok: 'log', skipped: 'log', released: 'log', failed: 'warn', ...levels },
    sampleRate,
    metadata: [...metadata],
    isPayloadLogged: options.payload === true,
    redact: redact.map((path) => path.split('.')),
  };
}
