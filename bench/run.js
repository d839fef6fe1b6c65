// Runs the benchmarks (`bench/*.bench.js`) one after another, each in its own process, prints
// their markdown sections and writes them to bench/RESULTS.md under a header naming the machine.
//
//   npm run bench                    build, then every bench
//   node bench/run.js in-process     only bench/in-process.bench.js (after `npm run build`)
//   BENCH_QUICK=1 npm run bench      short smoke run; RESULTS.md is left alone
//
// A bench prints one markdown section (starting with `## `) on stdout, its progress on stderr,
// and exits non-zero when it fails. A failing bench gets a failure section; the others still run.
// Sections of benches that did not run this time are kept from the previous RESULTS.md.
import { execFileSync, spawn } from 'node:child_process';
import { clearTimeout, setTimeout } from 'node:timers';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH_DIR);
const RESULTS = join(BENCH_DIR, 'RESULTS.md');
const SUFFIX = '.bench.js';
const QUICK = process.env.BENCH_QUICK === '1';
const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_MS ?? 20 * 60_000);
const STDERR_TAIL = 4000;

const available = readdirSync(BENCH_DIR)
  .filter((file) => file.endsWith(SUFFIX))
  .map((file) => basename(file, SUFFIX))
  .sort();

const requested = process.argv.slice(2);
const unknown = requested.filter((name) => !available.includes(name));
if (unknown.length > 0) {
  process.stderr.write(
    `Unknown bench: ${unknown.join(', ')}. Available: ${available.join(', ') || 'none'}\n`,
  );
  process.exit(2);
}
const selected = requested.length > 0 ? available.filter((n) => requested.includes(n)) : available;

if (!existsSync(join(ROOT, 'dist', 'index.js'))) {
  process.stderr.write('dist/index.js is missing: run `npm run build` (npm run bench does)\n');
  process.exit(2);
}

/** Runs one bench; resolves to its section, a failure section when it failed. */
function runBench(name) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--expose-gc', join(BENCH_DIR, `${name}${SUFFIX}`)], {
      cwd: ROOT,
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderrTail = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => {
      process.stderr.write(chunk);
      stderrTail = (stderrTail + chunk).slice(-STDERR_TAIL);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    const finish = (failure) => {
      clearTimeout(timer);
      const seconds = ((Date.now() - started) / 1000).toFixed(0);
      const stamp = `_${name}: ${new Date().toISOString()}, ${seconds} s._`;
      if (!failure && stdout.trim().length > 0) {
        resolve({ name, ok: true, text: withStamp(stdout.trim(), stamp) });
        return;
      }
      const reason = failure ?? 'it printed no results';
      const lines = [`## ${name}`, '', stamp, '', `**Failed:** ${reason}.`];
      if (stderrTail.trim()) lines.push('', '```', stderrTail.trim(), '```');
      if (stdout.trim()) lines.push('', 'What it printed before failing:', '', stdout.trim());
      resolve({ name, ok: false, text: lines.join('\n') });
    };
    child.on('error', (error) => finish(`could not start: ${error.message}`));
    child.on('close', (code, signal) => {
      if (signal) finish(`killed by ${signal}${signal === 'SIGKILL' ? ' (timeout?)' : ''}`);
      else if (code !== 0) finish(`exit code ${code}`);
      else finish(undefined);
    });
  });
}

/** Puts the stamp line under the section's title. */
function withStamp(section, stamp) {
  const [title, ...rest] = section.split('\n');
  if (!title.startsWith('## ')) return `## ${stamp}\n\n${section}`;
  return [title, '', stamp, ...rest].join('\n');
}

/** The commit measured, and whether lib/ differed from it (the build includes such changes). */
function revision() {
  try {
    const git = (...args) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
    const commit = git('rev-parse', '--short', 'HEAD');
    const isDirty = git('status', '--porcelain', '--', 'lib').length > 0;
    return `${commit}${isDirty ? ' with uncommitted changes in lib/' : ''}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

function machineHeader() {
  const cpus = os.cpus();
  const model = cpus[0]?.model?.trim() ?? 'unknown CPU';
  const gib = (os.totalmem() / 2 ** 30).toFixed(1);
  const load = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(', ');
  return [
    '# Benchmark results',
    '',
    'Written by `npm run bench` (see [README.md](README.md) for how to run and read it).',
    '',
    '| | |',
    '|---|---|',
    `| date | ${new Date().toISOString()} |`,
    `| code | ${revision()} |`,
    `| CPU | ${model}, ${cpus.length} logical cores |`,
    `| memory | ${gib} GiB |`,
    `| Node | ${process.version} (V8 ${process.versions.v8}) |`,
    `| OS | ${os.type()} ${os.release()} (${os.platform()}/${os.arch()}) |`,
    `| load average at start (1, 5, 15 min) | ${load} |`,
  ].join('\n');
}

const KEPT = '_(kept from an earlier run, maybe on another machine)_';
const SECTION_START = (name) => `<!-- bench:${name} -->`;
const SECTION_END = (name) => `<!-- /bench:${name} -->`;

/** The sections of the previous RESULTS.md, by bench name. */
function previousSections() {
  const sections = new Map();
  if (!existsSync(RESULTS)) return sections;
  const text = readFileSync(RESULTS, 'utf8');
  const pattern = /<!-- bench:([\w.-]+) -->\n([\s\S]*?)\n<!-- \/bench:\1 -->/g;
  for (const match of text.matchAll(pattern)) sections.set(match[1], match[2]);
  return sections;
}

async function main() {
  const header = machineHeader();
  process.stdout.write(`${header}\n\n`);
  const ran = new Map();
  for (const name of selected) {
    process.stderr.write(`\n=== ${name} ===\n`);
    const result = await runBench(name);
    ran.set(name, result);
    process.stdout.write(`${result.text}\n\n`);
  }
  const failed = [...ran.values()].filter((r) => !r.ok).map((r) => r.name);
  if (QUICK) {
    process.stderr.write('\nBENCH_QUICK=1: bench/RESULTS.md not written.\n');
  } else {
    const previous = previousSections();
    // Only benches that still exist: a deleted bench takes its old section with it.
    const names = available;
    const parts = [header];
    for (const name of names) {
      const text = ran.get(name)?.text ?? previous.get(name);
      if (text === undefined) continue;
      const note = ran.has(name) || text.startsWith(KEPT) ? '' : `${KEPT}\n\n`;
      parts.push(`${SECTION_START(name)}\n${note}${text}\n${SECTION_END(name)}`);
    }
    writeFileSync(RESULTS, `${parts.join('\n\n')}\n`);
    process.stderr.write(`\nWrote ${RESULTS}\n`);
  }
  if (failed.length > 0) {
    process.stderr.write(`Failed: ${failed.join(', ')}\n`);
    process.exitCode = 1;
  }
}

await main();
