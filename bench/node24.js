// Node 24 for the benches that also run on it: the npm registry's `node` package, which npx
// downloads once. `BENCH_NODE24=0` skips those runs.
import { execFileSync } from 'node:child_process';

export const WITH_NODE24 = process.env.BENCH_NODE24 !== '0';

/** The Node 24 binary's path. @throws when npx cannot get it (offline, no registry). */
export function node24Path() {
  const out = execFileSync('npx', ['-y', '-p', 'node@24', 'node', '-p', 'process.execPath'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return out.trim().split('\n').pop();
}
