import { InvalidArgumentError, type Command } from 'commander';
import type { ConnectionFlags } from './cli.context.js';

/** A commander parser of a whole number at least `min`. */
export function integerAtLeast(min: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || Number(value) < min) {
      throw new InvalidArgumentError(`expected a whole number from ${min}, received "${value}".`);
    }
    return Number(value);
  };
}

/** A commander parser of a positive number (decimals allowed). */
export function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new InvalidArgumentError(`expected a positive number, received "${value}".`);
  }
  return n;
}

/** The program's connection flags as a subcommand sees them. */
export function connectionOf(command: Command): ConnectionFlags {
  const opts = command.optsWithGlobals<ConnectionFlags>();
  return { redis: opts.redis, prefix: opts.prefix, verbose: opts.verbose };
}
