import { createInterface } from 'node:readline/promises';
import { UsageError } from './errors/usage.error.js';

/** How a destructive command may go ahead. */
export interface ConfirmOptions {
  /** `--force`: go ahead without asking. */
  readonly force?: boolean;
}

/**
 * Asks on the terminal before a destructive action; with no terminal (a script, CI), refuses
 * unless `--force`. Resolves when the action may go ahead.
 * @throws UsageError when refused or declined.
 */
export async function confirm(question: string, options: ConfirmOptions): Promise<void> {
  if (options.force) return;
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new UsageError(`${question} Refused: no terminal to confirm on; pass --force.`);
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) throw new UsageError('Cancelled.');
  } finally {
    rl.close();
  }
}
