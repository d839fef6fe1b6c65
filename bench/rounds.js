// What the benches that run each case in a fresh process share: running a case (the bench file
// again with `--child ...`, its last stdout line parsed as JSON), the rotated order of the cases
// per round, and medians with their spread.
import { execFileSync } from 'node:child_process';

/** Runs `file --child ...args` in a fresh process; resolves to its last stdout line, parsed. */
export function runChild(file, args) {
  const out = execFileSync(process.execPath, [file, '--child', ...args.map(String)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out.trim().split('\n').pop());
}

/** `items` rotated by round (1-based), so that the cases take turns being first. */
export function rotated(items, round) {
  const order = [...items];
  for (let k = 0; k < (round - 1) % order.length; k++) order.push(order.shift());
  return order;
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Half the range over the median. */
export function spread(values) {
  return (Math.max(...values) - Math.min(...values)) / 2 / median(values);
}
