// Compile-time cost of typed events: generates one project with 500 mapped events, 200 wildcard
// listeners and 500 emits, type-checks it with and without the EventMap augmentation, and prints
// tsc's check and total times. Run: node scripts/typecheck-bench.mjs
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
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
  const out = execFileSync(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-p', dir, '--extendedDiagnostics'],
    { encoding: 'utf8' },
  );
  rmSync(dir, { recursive: true, force: true });
  const pick = (label) => Number(new RegExp(`${label}:\\s+([\\d.]+)s`).exec(out)?.[1]);
  return { check: pick('Check time'), total: pick('Total time') };
}

const runs = Number(process.argv[2] ?? 3);
const results = { untyped: [], typed: [] };
for (let i = 0; i < runs; i++) {
  results.untyped.push(measure(false));
  results.typed.push(measure(true));
}
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const mode of ['untyped', 'typed']) {
  const r = results[mode];
  process.stdout.write(
    `${mode.padEnd(8)} check ${median(r.map((x) => x.check)).toFixed(2)}s  total ${median(r.map((x) => x.total)).toFixed(2)}s\n`,
  );
}
const ratio =
  median(results.typed.map((x) => x.check)) / median(results.untyped.map((x) => x.check));
process.stdout.write(
  `typed/untyped check time: ${ratio.toFixed(2)}x (${EVENTS} events, ${patterns.length} wildcard listeners, ${EVENTS} emits)\n`,
);
