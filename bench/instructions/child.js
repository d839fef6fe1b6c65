// One library and case of the instruction-count bench (see bench/instructions.bench.js), run
// under `valgrind --tool=callgrind --instr-atstart=no`: it sets the case up as the in-process
// bench does, warms it up, prints `READY`, waits for a line on stdin (the parent turns counting
// on), emits COUNT times, prints `DONE` and waits for one more line (counting is turned off).
// Sync emits run in batches of 500 with a macrotask between batches, async ones are awaited one
// by one: the in-process bench's loop, so the promises a library leaves behind are counted.
import { setImmediate } from 'node:timers';
import { BATCH, CASES } from '../in-process/cases.js';
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

process.stdin.setEncoding('utf8');
const nextLine = () => new Promise((resolve) => process.stdin.once('data', resolve));
// Twice, so that the loop itself is optimized for a second call before counting starts, and
// long enough that the code run once per batch (timers, the loop's tail) is optimized too.
await run(WARMUP / 2);
await run(WARMUP / 2);
process.stdout.write('READY\n');
await nextLine();
await run(COUNT);
process.stdout.write('DONE\n');
await nextLine();
process.exit(0);
