// The in-process bench's measurement: the emit loop and its warm-up, the worker process that
// runs one library for one case, and the parent's side that starts the workers, interleaves
// their rounds and takes the medians.
import { fork } from 'node:child_process';
import { setImmediate } from 'node:timers';
import { URL, fileURLToPath } from 'node:url';
import { BATCH, CASES, PROCESSES, ROUND_MS, ROUNDS, WARMUP_MS, hits, log } from './cases.js';
import { SUBJECTS } from './subjects.js';
import { serverLike } from './server-like.js';

const gc = globalThis.gc;
if (typeof gc !== 'function') {
  throw new Error('run with --expose-gc (npm run bench does)');
}

/** The entry point: each worker is a fork of it with `--worker <case> <library>`. */
const ENTRY = fileURLToPath(new URL('../in-process.bench.js', import.meta.url));

// ---------------------------------------------------------------------------------------------
// Measurement. Each library runs in a process of its own (one per case and library): the
// parent only orders the rounds. So no library pays for another's state: nestjs-events enables
// an AsyncLocalStorage, and with it Node's promise hooks, which make every promise in the
// process ~100 ns dearer; JIT feedback shared through RxJS or Promise code stays apart too.

const drain = () => new Promise((resolve) => setImmediate(resolve));
const now = () => process.hrtime.bigint();

/** A loop of `count` emits that returns the elapsed ns. */
function makeLoop(emit, isAsync) {
  if (isAsync) {
    return async (count) => {
      const start = now();
      for (let i = 0; i < count; i++) await emit();
      return Number(now() - start);
    };
  }
  return async (count) => {
    const start = now();
    for (let done = 0; done < count; done += BATCH) {
      for (let i = 0; i < BATCH; i++) emit();
      await drain();
    }
    return Number(now() - start);
  };
}

/** Runs the loop until `ms` have passed; returns the ns per emit of the last pass. */
async function warmUp(loop, ms) {
  const deadline = Date.now() + ms;
  let count = BATCH;
  let perEmit = Infinity;
  while (Date.now() < deadline) {
    perEmit = (await loop(count)) / count;
    if (count < 1_000_000) count *= 2;
  }
  return perEmit;
}

/** The worker process: sets one library up for one case, then runs rounds when asked. */
export async function worker(caseId, subjectId) {
  const c = CASES.find((x) => x.id === caseId);
  const subject = SUBJECTS.find((x) => x.id === subjectId);
  const setup =
    c.isQueued && !subject.isOurs ? { skip: 'no queued listeners' } : await subject.setup(c);
  if (setup.skip) {
    process.send({ type: 'skip', reason: setup.skip });
    return;
  }
  const loop = makeLoop(setup.emit, !!c.isAsync);
  // A bench that does not reach the listeners measures nothing: check the call count first.
  const probe = c.isAsync ? 10 : BATCH;
  hits.n = 0;
  await loop(probe);
  if (hits.n !== probe * c.expectedHits) {
    throw new Error(`listeners ran ${hits.n} times, expected ${probe * c.expectedHits}`);
  }
  // After the first emits (a library that enables its context lazily has done so by now).
  await serverLike();
  gc();
  const perEmit = await warmUp(loop, WARMUP_MS);
  const roundEmits = Math.max(1, Math.round((ROUND_MS * 1e6) / perEmit));
  const count = c.isAsync ? roundEmits : Math.ceil(roundEmits / BATCH) * BATCH;
  process.on('message', async (message) => {
    if (message.type === 'round') {
      gc();
      process.send({ type: 'sample', ns: (await loop(count)) / count });
    } else if (message.type === 'close') {
      await setup.close?.();
      process.exit(0);
    }
  });
  process.send({ type: 'ready', note: setup.note });
}

/** Starts a worker; `ask(message?)` sends a message and resolves with the next reply. */
function startWorker(c, subject) {
  const child = fork(ENTRY, ['--worker', c.id, subject.id], {
    execArgv: ['--expose-gc'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  let pending;
  let exited = false;
  child.on('message', (message) => {
    const settle = pending;
    pending = undefined;
    if (message.type === 'error') settle?.reject(new Error(`${subject.id}: ${message.message}`));
    else settle?.resolve(message);
  });
  child.on('exit', (code) => {
    exited = true;
    pending?.reject(new Error(`${subject.id} / ${c.id}: worker exited with code ${code}`));
  });
  const ask = (message) =>
    new Promise((resolve, reject) => {
      if (exited) return reject(new Error(`${subject.id} / ${c.id}: worker is gone`));
      pending = { resolve, reject };
      if (message) child.send(message);
    });
  return {
    ask,
    exit: () => new Promise((resolve) => (exited ? resolve() : child.on('exit', resolve))),
  };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Measures a case in PROCESSES fresh sets of processes. Per library: `ns` is the median of the
 * per-process medians, `spread` their range relative to it, `best` the fastest round of all.
 */
export async function measureCase(c, subjects = SUBJECTS) {
  const runs = [];
  for (let k = 0; k < PROCESSES; k++) {
    if (PROCESSES > 1) log(`  processes ${k + 1}/${PROCESSES}`);
    runs.push(await measureCaseOnce(c, subjects));
  }
  const results = new Map();
  for (const subject of subjects) {
    const per = runs.map((run) => run.get(subject.id));
    if (per[0].skip) {
      results.set(subject.id, per[0]);
      continue;
    }
    const medians = per.map((r) => r.ns);
    const ns = median(medians);
    results.set(subject.id, {
      ns,
      best: Math.min(...per.map((r) => r.best)),
      spread: (Math.max(...medians) - Math.min(...medians)) / ns,
      medians,
      note: per[0].note,
    });
  }
  return results;
}

/** One measurement of a case: each library in a fresh process, rounds interleaved. */
async function measureCaseOnce(c, subjects) {
  const results = new Map();
  const runners = [];
  // Set-up and warm-up one library at a time: they must not compete for the CPU.
  for (const subject of subjects) {
    const worker = startWorker(c, subject);
    const first = await worker.ask();
    if (first.type === 'skip') {
      results.set(subject.id, { skip: first.reason });
      await worker.exit();
    } else {
      runners.push({ subject, worker, note: first.note, samples: [] });
    }
  }
  // Rounds interleave the libraries (in a rotating order), so that a noisy moment on a shared
  // machine hits all of them rather than one.
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < runners.length; k++) {
      const runner = runners[(round + k) % runners.length];
      runner.samples.push((await runner.worker.ask({ type: 'round' })).ns);
    }
  }
  for (const runner of runners) {
    runner.worker.ask({ type: 'close' }).catch(() => {});
    await runner.worker.exit();
    const ns = median(runner.samples);
    const spread = (Math.max(...runner.samples) - Math.min(...runner.samples)) / ns;
    const best = Math.min(...runner.samples);
    results.set(runner.subject.id, { ns, best, spread, note: runner.note });
  }
  return results;
}
