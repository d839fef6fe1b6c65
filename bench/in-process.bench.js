// In-process dispatch, side by side: Node's EventEmitter (the floor), eventemitter2,
// @nestjs/event-emitter, @nestjs/cqrs and nestjs-events, each in the mode a user would run it
// (the Nest ones in a real application context with their decorators).
//
// Run it through `npm run bench` (it builds `dist/` first), or alone after a build:
//   node --expose-gc bench/in-process.bench.js
// It prints one markdown section on stdout and its progress on stderr.
// BENCH_QUICK=1 runs few, short rounds: a smoke test, not a measurement.
//
// The entry point: it runs the cases and prints the report, and, started with
// `--worker <case> <library>`, is the worker process the measurement forks for each library.
// The pieces are in bench/in-process/: cases.js (settings, payload, listeners, cases),
// subjects.js (the libraries and their set-up), harness.js (loop, warm-up, workers,
// measurement) and report.js (the markdown section).
import { CASES, log } from './in-process/cases.js';
import { SUBJECTS } from './in-process/subjects.js';
import { measureCase, worker } from './in-process/harness.js';
import { fmtNs, report } from './in-process/report.js';

// Optional filters for profiling one corner: BENCH_CASES=one,ten BENCH_LIBS=ours,nestWildcard.
const only = (variable) => process.env[variable]?.split(',').filter(Boolean);
const ONLY_CASES = only('BENCH_CASES');
const ONLY_LIBS = only('BENCH_LIBS');

async function main() {
  if (ONLY_CASES || ONLY_LIBS) {
    // A partial run: print the raw medians only (the report needs every case and library).
    for (const c of CASES.filter((x) => !ONLY_CASES || ONLY_CASES.includes(x.id))) {
      const subjects = SUBJECTS.filter((x) => !ONLY_LIBS || ONLY_LIBS.includes(x.id));
      const results = await measureCase(c, subjects);
      for (const [id, r] of results) {
        const text = r.skip
          ? `n/a (${r.skip})`
          : `median ${fmtNs(r.ns)} ns (processes ${r.medians.map(fmtNs).join(' / ')}, ` +
            `spread ±${Math.round(r.spread * 50)}%), best ${fmtNs(r.best)} ns`;
        process.stdout.write(`${c.id} ${id}: ${text}\n`);
      }
    }
    return;
  }
  const all = new Map();
  for (const c of CASES) {
    log(`${c.title}...`);
    all.set(c.id, await measureCase(c));
  }
  process.stdout.write(`${report(all)}\n`);
}

if (process.argv[2] === '--worker') {
  worker(process.argv[3], process.argv[4]).catch((error) => {
    process.send({ type: 'error', message: String(error?.stack ?? error) }, () => process.exit(1));
  });
} else {
  main().then(
    () => process.exit(0),
    (error) => {
      process.stderr.write(`${error?.stack ?? error}\n`);
      process.exit(1);
    },
  );
}
