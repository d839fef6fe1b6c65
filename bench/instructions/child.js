// One library and case of the instruction-count bench (see bench/instructions.bench.js), run
// under `valgrind --tool=callgrind --instr-atstart=no`: it sets the case up as the in-process
// bench does, warms it up, prints `READY`, waits for a line on stdin (the parent turns counting
// on), emits COUNT times, prints `DONE` and waits for one more line (counting is turned off).
// Sync emits run in batches of 500 with a macrotask between batches, async ones are awaited one
// by one: the in-process bench's loop, so the promises a library leaves behind are counted.
import { Buffer } from 'node:buffer';
import { readSync } from 'node:fs';
import { setImmediate } from 'node:timers';
import { BATCH, CASES } from '../in-process/cases.js';
import { serverLike } from '../in-process/server-like.js';
import { SUBJECTS } from '../in-process/subjects.js';

const [caseId, subjectId] = process.argv.slice(2);
const COUNT = Number(process.env.COUNT);
const WARMUP = Number(process.env.WARMUP);
const c = CASES.find((x) => x.id === caseId);
const subject = SUBJECTS.find((x) => x.id === subjectId);
const setup = await subject.setup(c);
if (setup.skip) {
  process.stdout.write(`SKIP ${setup.skip}\n`);
  process.exit(0);
}
const { emit } = setup;
const macrotask = () => new Promise((resolve) => setImmediate(resolve));

async function run(count) {
  if (c.isAsync) {
    for (let i = 0; i < count; i++) await emit();
    return;
  }
  for (let done = 0; done < count; done += BATCH) {
    for (let i = 0; i < BATCH; i++) emit();
    await macrotask();
  }
}

// Waits for the parent's line with a blocking read of fd 0, not through `process.stdin`: a stream
// read makes async resources (a pipe, ticks) whose first sight at the start of the counted window
// deoptimized Node's promise hooks, in the subjects that carry a context and not in the others.
const line = Buffer.alloc(64);
function nextLine() {
  for (;;) {
    try {
      if (readSync(0, line, 0, line.length, null) > 0) return;
    } catch (error) {
      if (error.code !== 'EAGAIN') throw error;
    }
  }
}
// The first emits (a library that enables its context lazily does it now), then what a server's
// process has done before (see server-like.js), as the in-process bench does.
await run(c.isAsync ? 10 : BATCH);
await serverLike();
// Twice, so that the loop itself is optimized for a second call before counting starts, and
// long enough that the code run once per batch (timers, the loop's tail) is optimized too.
await run(WARMUP / 2);
await run(WARMUP / 2);
process.stdout.write('READY\n');
nextLine();
await run(COUNT);
process.stdout.write('DONE\n');
nextLine();
process.exit(0);
