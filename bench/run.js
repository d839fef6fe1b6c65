// Runs the benchmarks (`bench/*.bench.js`) one after another, each in its own process, prints
// their markdown sections and writes them to bench/RESULTS.md under a header naming the machine.
//
//   npm run bench                    build, then every bench
//   node bench/run.js in-process     only bench/in-process.bench.js (after `npm run build`)
//   BENCH_QUICK=1 npm run bench      short smoke run; RESULTS.md is left alone
//   BENCH_NODE24=0 npm run bench     skip the in-process bench's second run on Node 24
//
// The in-process bench runs twice: on this Node and on Node 24 (the `node` package of the npm
// registry, through `npx -p node@24`), because AsyncLocalStorage, which every awaited emit of
// ours pays for, costs far less there. A last section sets the awaited-async ratios against
// @nestjs/event-emitter of both runs side by side.
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
import { WITH_NODE24, node24Path } from './node24.js';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH_DIR);
const RESULTS = join(BENCH_DIR, 'RESULTS.md');
const SUFFIX = '.bench.js';
const QUICK = process.env.BENCH_QUICK === '1';
const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_MS ?? 20 * 60_000);
const STDERR_TAIL = 4000;
/** The bench run a second time on Node 24, and the section comparing both runs. */
const NODE24_BENCH = 'in-process';
const NODE24_NAME = `${NODE24_BENCH}.node24`;
const NODE_VERSIONS_NAME = `${NODE24_BENCH}.node-versions`;

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

/**
 * Runs one bench (`file`, default `name`) with the `node` binary; resolves to its section, a
 * failure section when it failed. The stamp under the title names the Node version.
 */
function runBench(name, { node = process.execPath, version = process.version, file = name } = {}) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(node, ['--expose-gc', join(BENCH_DIR, `${file}${SUFFIX}`)], {
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
      const stamp = `_${name}: ${new Date().toISOString()}, ${seconds} s, Node ${version}._`;
      if (!failure && stdout.trim().length > 0) {
        const text = withStamp(stdout.trim(), stamp);
        resolve({ name, ok: true, text: name === file ? text : retitle(text, version) });
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

/** Names the Node version in the section's title (a bench run on another Node). */
function retitle(section, version) {
  return section.replace(/^## (.*)$/m, (_, title) => `## ${title} on Node ${version}`);
}

/**
 * The awaited-async ratios against `@nestjs/event-emitter` of each in-process run, read from the
 * summary table the bench prints (columns whose title says "awaited").
 */
function nodeVersionsSection(runs) {
  const rows = [];
  let columns = [];
  for (const { version, text } of runs) {
    const lines = text.split('\n');
    const headerAt = lines.findIndex((line) => line.startsWith('| nestjs-events vs |'));
    if (headerAt < 0) continue;
    const cells = (line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim());
    const header = cells(lines[headerAt]);
    const awaited = header
      .map((title, i) => (/awaited/i.test(title) ? i : -1))
      .filter((i) => i > 0);
    columns = awaited.map((i) => header[i]);
    for (const line of lines.slice(headerAt + 2)) {
      if (!line.startsWith('|')) break;
      const row = cells(line);
      if (!row[0].includes('@nestjs/event-emitter')) continue;
      rows.push(`| ${version} | ${row[0]} | ${awaited.map((i) => row[i]).join(' | ')} |`);
    }
  }
  if (rows.length === 0) return undefined;
  return [
    '## In-process dispatch: awaited async listeners on each Node version',
    '',
    'The awaited cases of the in-process bench against `@nestjs/event-emitter`, from the runs above ' +
      '(peer time / our time; above 1 = nestjs-events is faster). Every awaited emit of ours runs ' +
      'in an `AsyncLocalStorage` context (correlation and causation ids); Node 24 implements it ' +
      "without the promise hooks Node 20 needs (AsyncContextFrame). Compare within one run's " +
      'rows: the load average in the header says how much other work shared the CPU.',
    '',
    `| Node | nestjs-events vs | ${columns.join(' | ')} |`,
    `|---|---|${columns.map(() => '--:').join('|')}|`,
    ...rows,
  ].join('\n');
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
    if (name !== NODE24_BENCH || !WITH_NODE24) continue;
    process.stderr.write(`\n=== ${name} on Node 24 ===\n`);
    let node24;
    try {
      node24 = node24Path();
    } catch (error) {
      const reason = `could not get Node 24 with \`npx -p node@24\`: ${error.message.split('\n')[0]}`;
      ran.set(NODE24_NAME, {
        name: NODE24_NAME,
        ok: false,
        text: `## ${NODE24_NAME}\n\n**Failed:** ${reason}.`,
      });
      continue;
    }
    const version = execFileSync(node24, ['--version'], { encoding: 'utf8' }).trim();
    const again = await runBench(NODE24_NAME, { node: node24, version, file: name });
    ran.set(NODE24_NAME, again);
    process.stdout.write(`${again.text}\n\n`);
    const runs = [
      { version: process.version, result },
      { version, result: again },
    ].filter((run) => run.result.ok);
    const versions = nodeVersionsSection(
      runs.map(({ version, result }) => ({ version, text: result.text })),
    );
    if (versions) {
      ran.set(NODE_VERSIONS_NAME, { name: NODE_VERSIONS_NAME, ok: true, text: versions });
      process.stdout.write(`${versions}\n\n`);
    }
  }
  const failed = [...ran.values()].filter((r) => !r.ok).map((r) => r.name);
  if (QUICK) {
    process.stderr.write('\nBENCH_QUICK=1: bench/RESULTS.md not written.\n');
  } else {
    const previous = previousSections();
    // Only benches that still exist: a deleted bench takes its old section with it.
    const names = available.flatMap((name) =>
      name === NODE24_BENCH ? [name, NODE24_NAME, NODE_VERSIONS_NAME] : [name],
    );
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
