// Instructions per emit, counted by callgrind: the in-process cases of bench/in-process/, each
// library in a process of its own under `valgrind --tool=callgrind`, counting only the measured
// emits (turned on and off with `callgrind_control` around them, after a long warm-up). A count
// of work done, not a time: the same build gives about the same count on a loaded machine, where
// in-process timings spread by ±20-50% between processes. It cannot see what the count leaves
// out (cache misses, the cost of a memory access, other threads), so the in-process bench's times
// stay what the targets are judged on; this section checks the same targets on the counts.
//
//   npm run build && node bench/instructions.bench.js
// V8 runs single-threaded (`--single-threaded`: compiling and GC on the main thread, counted,
// at the same points every run) with a fixed young generation (16 MB semi-spaces: V8 sizes it
// from the allocation rate it sees, which valgrind slows fifty-fold). Needs valgrind; without
// it the section says so. The awaited cases are counted again on Node 24 (`bench/node24.js`;
// `BENCH_NODE24=0` skips them).
import { execFile, execFileSync, spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { URL, fileURLToPath } from 'node:url';
import { CASES, QUICK } from './in-process/cases.js';
import { WITH_NODE24, node24Path } from './node24.js';
import { SUBJECTS } from './in-process/subjects.js';

const log = (message) => process.stderr.write(`[instructions] ${message}\n`);
const CHILD = fileURLToPath(new URL('./instructions/child.js', import.meta.url));
const SUBJECT_IDS = [
  'node',
  'ee2',
  'nestWildcard',
  'nestWildcardAls',
  'nestPlain',
  'ours',
  'floorContract',
  'floorAls',
  'floorAlsContract',
];
const CASE_IDS = ['one', 'ten', 'exact1000', 'wildcard1000', 'async1', 'async10'];
const sizes = (c) =>
  QUICK
    ? { COUNT: 2000, WARMUP: 4000 }
    : c.isAsync
      ? { COUNT: 50_000, WARMUP: 400_000 }
      : { COUNT: 200_000, WARMUP: 1_000_000 };
const V8_FLAGS = [
  '--single-threaded',
  '--min-semi-space-size=16',
  '--max-semi-space-size=16',
  '--hash-seed=1',
  '--random-seed=1',
];

/** Instructions per emit of one library in one case: { perEmit } or { skip }. */
function count(c, subjectId, node = process.execPath) {
  const env = {
    ...process.env,
    ...Object.fromEntries(Object.entries(sizes(c)).map(([k, v]) => [k, String(v)])),
  };
  const args = ['--tool=callgrind', '--instr-atstart=no', '--callgrind-out-file=/dev/null'];
  const child = spawn('valgrind', [...args, node, ...V8_FLAGS, CHILD, c.id, subjectId], {
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  let skip;
  child.stderr.on('data', (chunk) => (stderr += chunk));
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    for (const line of chunk.split('\n')) {
      if (line.startsWith('SKIP ')) skip = line.slice(5);
      if (line !== 'READY' && line !== 'DONE') continue;
      const mode = line === 'READY' ? 'on' : 'off';
      execFileSync('callgrind_control', ['-i', mode, String(child.pid)], { stdio: 'ignore' });
      child.stdin.write('go\n');
    }
  });
  return new Promise((resolve, reject) => {
    // 'close', not 'exit': the summary on stderr may still be unread when the process exits.
    child.on('close', (code) => {
      if (skip !== undefined) return resolve({ skip });
      const collected = /Collected : (\d+)/.exec(stderr);
      if (code !== 0 || !collected) {
        return reject(new Error(`${c.id} ${subjectId} failed (${code}):\n${stderr.slice(-2000)}`));
      }
      resolve({ perEmit: Number(collected[1]) / sizes(c).COUNT });
    });
  });
}

/** Runs `jobs` (functions returning promises), `width` at a time; resolves to their results. */
async function pool(jobs, width) {
  const results = new Array(jobs.length);
  let next = 0;
  const lane = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]();
    }
  };
  await Promise.all(Array.from({ length: width }, lane));
  return results;
}

function hasValgrind() {
  return new Promise((resolve) => execFile('valgrind', ['--version'], (error) => resolve(!error)));
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');
const label = (id) => SUBJECTS.find((s) => s.id === id).label;
const title = (id) => CASES.find((c) => c.id === id).title;

// Optional filters for one corner, raw counts only: BENCH_CASES=one,ten BENCH_LIBS=ours,ee2.
const only = (variable) => process.env[variable]?.split(',').filter(Boolean);

async function main() {
  const onlyCases = only('BENCH_CASES');
  const onlyLibs = only('BENCH_LIBS');
  if (onlyCases || onlyLibs) {
    const jobs = CASES.filter(
      (c) => CASE_IDS.includes(c.id) && (!onlyCases || onlyCases.includes(c.id)),
    )
      .flatMap((c) =>
        SUBJECT_IDS.filter((s) => !onlyLibs || onlyLibs.includes(s)).map((s) => [c, s]),
      )
      .map(([c, s]) => async () => {
        const result = await count(c, s);
        return `${c.id} ${s}: ${result.skip ?? fmt(result.perEmit)}`;
      });
    return (await pool(jobs, Math.max(1, availableParallelism()))).join('\n');
  }
  const lines = ['## In-process dispatch: instructions per emit (callgrind)', ''];
  if (!(await hasValgrind())) {
    lines.push('Skipped: `valgrind` is not installed on this machine.', '');
    return lines.join('\n');
  }
  const cases = CASE_IDS.map((id) => CASES.find((c) => c.id === id));
  const awaited = cases.filter((c) => c.isAsync);
  // The awaited cases again on Node 24 (no promise hooks there), when npx can get it.
  let node24;
  if (WITH_NODE24) {
    try {
      node24 = { path: node24Path() };
      node24.version = execFileSync(node24.path, ['--version'], { encoding: 'utf8' }).trim();
    } catch (error) {
      log(`no Node 24: ${error.message.split('\n')[0]}`);
    }
  }
  const job = (c, s, node) => async () => {
    const result = await count(c, s, node?.path);
    log(`${c.id} ${s}${node ? ` (${node.version})` : ''}: ${result.skip ?? fmt(result.perEmit)}`);
    return [`${node ? '24 ' : ''}${c.id} ${s}`, result];
  };
  const jobs = [
    ...cases.flatMap((c) => SUBJECT_IDS.map((s) => job(c, s))),
    ...(node24 ? awaited.flatMap((c) => SUBJECT_IDS.map((s) => job(c, s, node24))) : []),
  ];
  const results = new Map(await pool(jobs, Math.max(1, availableParallelism())));
  const get = (caseId, s, on24 = false) => results.get(`${on24 ? '24 ' : ''}${caseId} ${s}`);
  const syncSizes = sizes(cases[0]);
  const asyncSizes = sizes(awaited[0]);
  lines.push(
    `Each library in a process of its own under \`valgrind --tool=callgrind\`, Node ${process.version}, V8 flags \`${V8_FLAGS.join(' ')}\`; ` +
      `sync cases: ${fmt(syncSizes.WARMUP)} emits of warm-up, then ${fmt(syncSizes.COUNT)} counted; ` +
      `async cases: ${fmt(asyncSizes.WARMUP)}, then ${fmt(asyncSizes.COUNT)}${QUICK ? ' (BENCH_QUICK: too short to warm up, smoke numbers)' : ''}. ` +
      'Set-up, listeners and payload as in the in-process bench; before its warm-up every process ' +
      'does what a server has done (`bench/in-process/server-like.js`). The counts repeat within ' +
      'about 0.5% from run to run, on an idle or a loaded machine (a check, not a test: see ' +
      '`bench/README.md`).',
    '',
  );
  const table = (shown, on24) => {
    lines.push(`| library | ${shown.map((c) => c.title).join(' | ')} |`);
    lines.push(`|---|${shown.map(() => '--:').join('|')}|`);
    for (const s of SUBJECT_IDS) {
      const cells = shown.map((c) => {
        const r = get(c.id, s, on24);
        return r.skip ? 'n/a' : fmt(r.perEmit);
      });
      lines.push(`| ${label(s)} | ${cells.join(' | ')} |`);
    }
  };
  table(cases, false);
  if (node24) {
    lines.push('', `Awaited cases on Node ${node24.version} (same flags and sizes):`, '');
    table(awaited, true);
  }
  lines.push('', '### The issue 15 targets, on the counts', '');
  lines.push(
    'The floor is what every emit of ours must do in that case (the "floor: what every ... emit ' +
      'of ours must do" rows): a target that allows less cannot be met without dropping part ' +
      'of the contract.',
    '',
    '| target | nestjs-events | peer | allowed | floor | |',
    '|---|--:|--:|--:|--:|---|',
  );
  const target = (caseId, peerId, factor, text, on24 = false) => {
    const ours = get(caseId, 'ours', on24);
    const peer = get(caseId, peerId, on24);
    if (!ours || !peer || ours.skip || peer.skip) return;
    const c = CASES.find((x) => x.id === caseId);
    const floor = get(caseId, c.isAsync ? 'floorAlsContract' : 'floorContract', on24);
    const allowed = peer.perEmit / factor;
    const ok = ours.perEmit <= allowed;
    const below = !floor.skip && floor.perEmit > allowed ? ' (below the floor)' : '';
    const where = on24 ? ` (Node ${node24.version})` : '';
    lines.push(
      `| ${title(caseId).toLowerCase()}${where}: ${text} | ${fmt(ours.perEmit)} | ${fmt(peer.perEmit)} | ${fmt(allowed)}${below} | ${floor.skip ? '-' : fmt(floor.perEmit)} | ${ok ? 'met' : '**MISSED**'} |`,
    );
  };
  for (const id of ['async1', 'async10']) {
    target(id, 'nestWildcard', 1, `at most ${label('nestWildcard')}`);
    target(id, 'nestWildcard', 1, `at most ${label('nestWildcard')}`, true);
  }
  target('one', 'nestPlain', 1, `at most ${label('nestPlain')}`);
  for (const id of ['ten', 'exact1000', 'wildcard1000']) {
    target(id, 'nestWildcard', 2, `at most half of ${label('nestWildcard')}`);
  }
  for (const id of ['one', 'ten', 'exact1000', 'wildcard1000'])
    target(id, 'ee2', 1, `at most ${label('ee2')}`);
  lines.push('');
  return lines.join('\n');
}

main().then(
  (text) => {
    process.stdout.write(`${text}\n`);
    process.exit(0);
  },
  (error) => {
    process.stderr.write(`${error?.stack ?? error}\n`);
    process.exit(1);
  },
);
