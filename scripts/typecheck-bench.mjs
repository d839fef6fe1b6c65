// Compile-time cost of typed events: generates one project with 500 mapped events, 200 wildcard
// listeners and 500 emits, type-checks it with and without the EventMap augmentation, and prints
// tsc's check time, the CPU time of the whole tsc process and its type instantiation count (the
// one figure load does not move), then the typed/untyped ratios and whether the < 2x target holds.
// Runs alternate untyped, typed, untyped... and medians are printed.
// Run: node scripts/typecheck-bench.mjs [runs=3]   (ONLY=listeners or ONLY=emits keeps one half)
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const EVENTS = 500;
const LISTENERS = 200;

const names = [];
for (let a = 0; a < 10; a++)
  for (let b = 0; b < 10; b++) for (let c = 0; c < 5; c++) names.push(`d${a}.e${b}.a${c}`);

const patterns = [];
for (let a = 0; a < 10; a++) for (let b = 0; b < 10; b++) patterns.push(`d${a}.e${b}.*`);
for (let a = 0; a < 10; a++) for (let c = 0; c < 5; c++) patterns.push(`d${a}.*.a${c}`);
for (let a = 0; a < 10; a++) patterns.push(`d${a}.**`);
for (let b = 0; b < 10; b++) patterns.push(`*.e${b}.*`);
for (let c = 0; c < 5; c++) patterns.push(`**.a${c}`);
for (let b = 0; b < 5; b++) for (let c = 0; c < 5; c++) patterns.push(`**.e${b}.a${c}`);
if (patterns.length !== LISTENERS) throw new Error(`expected ${LISTENERS} patterns`);

function source(typed) {
  const lines = [`import { EventBus, OnEvent, type EventEnvelope } from 'nestjs-events';`, ''];
  if (typed) {
    lines.push(`declare module 'nestjs-events' {`, '  interface EventMap {');
    names.forEach((n, i) => lines.push(`    '${n}': { id: string; n${i}: number };`));
    lines.push('  }', '}', '');
  }
  lines.push('export class Listeners {');
  (process.env.ONLY === 'emits' ? [] : patterns).forEach((p, i) => {
    lines.push(`  @OnEvent('${p}', { filter: (e) => e.name.length > 0 })`);
    lines.push(`  l${i}(e: EventEnvelope) { return e.name; }`);
  });
  lines.push('}', '', 'export async function emitAll(bus: EventBus) {');
  (process.env.ONLY === 'listeners' ? [] : names).forEach((n, i) =>
    lines.push(`  await bus.emit('${n}', { id: 'x', n${i}: ${i} });`),
  );
  lines.push('}', '');
  return lines.join('\n');
}

function measure(typed) {
  const dir = join(root, 'bench', `.typecheck-${typed ? 'typed' : 'untyped'}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'app.ts'), source(typed));
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ extends: '../../tsconfig.json', include: ['app.ts'], exclude: [] }),
  );
  // tsc in a wrapper that prints its CPU time (user + system) as it exits: on a loaded machine
  // wall-clock times swing by 2x from run to run, CPU time much less.
  const wrapper = [
    `process.on('exit', () => { const u = process.cpuUsage();`,
    `process.stdout.write('CPU time: ' + ((u.user + u.system) / 1e6).toFixed(2) + 's\\n'); });`,
    `process.argv = [process.argv[0], 'tsc', '-p', ${JSON.stringify(dir)}, '--extendedDiagnostics'];`,
    `require(${JSON.stringify(join(root, 'node_modules/typescript/lib/tsc.js'))});`,
  ].join(' ');
  const out = execFileSync(process.execPath, ['-e', wrapper], { encoding: 'utf8' });
  if (!process.env.KEEP) rmSync(dir, { recursive: true, force: true });
  const pick = (label) => Number(new RegExp(`${label}:\\s+([\\d.]+)s`).exec(out)?.[1]);
  const instantiations = Number(/Instantiations:\s+(\d+)/.exec(out)?.[1]);
  return { check: pick('Check time'), cpu: pick('CPU time'), instantiations };
}

const runs = Number(process.argv[2] ?? 3);
const results = { untyped: [], typed: [] };
for (let i = 0; i < runs; i++) {
  results.untyped.push(measure(false));
  results.typed.push(measure(true));
}
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const figure = (mode, key) => median(results[mode].map((x) => x[key]));
for (const mode of ['untyped', 'typed']) {
  process.stdout.write(
    `${mode.padEnd(8)} check ${figure(mode, 'check').toFixed(2)}s  cpu ${figure(mode, 'cpu').toFixed(2)}s  instantiations ${figure(mode, 'instantiations')}\n`,
  );
}
const ratio = (key) => figure('typed', key) / figure('untyped', key);
const verdict = (x) => (x < 2 ? 'under the 2x target' : 'OVER the 2x target');
process.stdout.write(
  `typed/untyped (${EVENTS} events, ${patterns.length} wildcard listeners, ${EVENTS} emits, ${runs} runs, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}):\n` +
    `  check time     ${ratio('check').toFixed(2)}x  ${verdict(ratio('check'))}\n` +
    `  cpu time       ${ratio('cpu').toFixed(2)}x  ${verdict(ratio('cpu'))}\n` +
    `  instantiations ${ratio('instantiations').toFixed(2)}x\n`,
);
