import { InvalidOptionError } from './errors/invalid-option.error.js';

// Checks shared by the module options, the decorators and the public methods that take names or
// numbers: each throws an InvalidOptionError naming the option and what it allows.

const NAME = /^[A-Za-z0-9_\-:.]+$/;

/** Throws unless `value` is a queue name or prefix: letters, digits, `_ - : .`, no braces. */
export function assertName(option: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || !NAME.test(value) || value.length > 200) {
    throw new InvalidOptionError(
      option,
      value,
      'a non-empty string of letters, digits, "_", "-", ":" or "." (at most 200 characters)',
    );
  }
}

/** Throws unless `value` is an integer in [min, max]. */
export function assertInteger(
  option: string,
  value: unknown,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new InvalidOptionError(option, value, `an integer ${range}`);
  }
}

/**
 * A decimal integer variable as a number. Anything else (`three`, `1e3`, `0x10`, a blank) comes
 * back as the raw string, which the caller's range check then refuses, naming the variable and
 * the allowed range.
 */
export function envInteger(env: NodeJS.ProcessEnv, variable: string): number | string | undefined {
  const raw = env[variable];
  if (raw === undefined || raw === '') return undefined;
  return /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : raw;
}

/** A non-empty variable, or `undefined`. */
export function envString(env: NodeJS.ProcessEnv, variable: string): string | undefined {
  const raw = env[variable];
  return raw === undefined || raw === '' ? undefined : raw;
}
