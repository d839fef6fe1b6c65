// Fault drills: nestjs-events and BullMQ (its defaults) side by side on a private redis-server,
// each library in its own processes, medians of DRILLS_REPS runs. Prints a markdown section and
// writes bench/DRILLS.md. Nothing here is asserted: the tests assert the behaviour, this measures it.
//
//   npm run drills                        build, then every drill (about 20 minutes)
//   DRILLS_REPS=1 DRILLS_DOWN_S=5 npm run drills      a quicker pass
//   DRILLS_ONLY=worker-kill,redis-restart npm run drills
//
// Every drill counts handler runs per job (a "double run" is a job whose handler started twice
// and was not aborted) and ends once the queue is empty (nothing waiting, delayed or running), so
// a late second run cannot be missed.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { startRedis } from './redis-server.js';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const REPS = Number(process.env.DRILLS_REPS ?? 3);
const DOWN_S = Number(process.env.DRILLS_DOWN_S ?? 45);
const ONLY = process.env.DRILLS_ONLY?.split(',');
const LIBS = (process.env.DRILLS_LIBS ?? 'events,bullmq').split(',');
const NAMES = { events: 'nestjs-events', bullmq: 'BullMQ' };
const log = (message) => process.stderr.write(`[drills] ${message}\n`);

/** A library process of the drill (worker or producer) and what it printed. */
class Proc {
  static seq = 0;
  constructor(lib, role, env, journal) {
    this.id = `${role[0]}${++Proc.seq}`;
    this.output = '';
    this.waiters = [];
    this.child = spawn(process.execPath, [join(BENCH_DIR, 'drills', `${lib}-process.js`)], {
      env: { ...process.env, ROLE: role, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', resolve));
    let partial = '';
    this.child.stdout.setEncoding('utf8').on('data', (chunk) => {
      this.output += chunk;
      const lines = (partial + chunk).split('\n');
      partial = lines.pop();
      for (const line of lines) {
        const [type, key, t, ...rest] = line.split(' ');
        if (['START', 'END', 'ABORT', 'EMITTED'].includes(type)) {
          journal.push({ proc: this.id, type, key, t: Number(t ?? 0), rest });
        }
        if (type === 'EMITTED')
          journal.push({ proc: this.id, type, key, t: Number(rest[0]), ok: t });
        for (const w of this.waiters.splice(0)) w(line);
      }
    });
    this.child.stderr.setEncoding('utf8').on('data', (chunk) => (this.output += chunk));
  }

  nextLine(prefix) {
    return new Promise((resolve) => {
      const wait = (line) => (line.startsWith(prefix) ? resolve(line) : this.waiters.push(wait));
      this.waiters.push(wait);
    });
  }

  send(line) {
    this.child.stdin.write(`${line}\n`);
  }

  signal(name) {
    this.child.kill(name);
  }

  async stop() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGCONT');
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

async function until(predicate, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`drill: ${what} not met within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** One drill run: processes, a journal of what they did, and the queue's emptiness. */
class Run {
  constructor(lib, redis, env = {}) {
    this.lib = lib;
    this.redis = redis;
    this.env = { REDIS_URL: redis.url, PREFIX: `drill${Date.now()}`, ...env };
    this.journal = [];
    this.procs = [];
  }

  async start(role, env = {}) {
    const proc = new Proc(this.lib, role, { ...this.env, ...env }, this.journal);
    this.procs.push(proc);
    await until(() => proc.output.includes('READY'), 30_000, `${role} READY`);
    return proc;
  }

  count(type, key) {
    return this.journal.filter((e) => e.type === type && (key === undefined || e.key === key))
      .length;
  }

  /** Keys whose handler started more than once and ran to its end more than once. */
  doubleRuns() {
    const ends = new Map();
    for (const e of this.journal) if (e.type === 'END') ends.set(e.key, (ends.get(e.key) ?? 0) + 1);
    return [...ends.values()].filter((n) => n > 1).length;
  }

  async emit(producer, keys, ms) {
    for (const key of keys) producer.send(`EMIT ${key} ${ms}`);
    await until(
      () =>
        keys.every((k) => this.journal.some((e) => e.type === 'EMITTED' && e.key === k && e.ok)),
      60_000,
      'emits answered',
    );
  }

  /** Resolves once the queue holds nothing waiting, delayed or running (asked through the producer). */
  async drained(producer, timeoutMs = 180_000) {
    await until(
      async () => {
        const reply = producer.nextLine('COUNTS');
        producer.send('COUNTS');
        return Number((await reply).split(' ')[1]) === 0;
      },
      timeoutMs,
      'queue drained',
    );
  }

  lastOf(type) {
    return Math.max(...this.journal.filter((e) => e.type === type).map((e) => e.t));
  }

  async close() {
    await Promise.all(this.procs.map((p) => p.stop()));
  }
}

const keys = (n, tag) => Array.from({ length: n }, (_, i) => `${tag}${i}`);

// ---------------------------------------------------------------- the drills
const DRILLS = [
  {
    name: 'redis-restart',
    title: 'Redis restarted without persistence: first new job after Redis is back',
    unit: 'ms',
    async run(lib) {
      const redis = await startRedis();
      const run = new Run(lib, redis);
      try {
        await run.start('worker');
        const producer = await run.start('producer');
        await run.emit(producer, ['warm'], 1);
        await until(() => run.count('END', 'warm') === 1, 30_000, 'warm-up job');
        await redis.kill();
        await sleep(2000);
        await redis.start();
        const back = Date.now();
        let i = 0;
        while (run.count('START') < 2 && Date.now() - back < 60_000) {
          producer.send(`EMIT after${i++} 1`);
          await sleep(10);
        }
        const first = run.journal.find((e) => e.type === 'START' && e.key !== 'warm');
        return { value: first ? first.t - back : NaN };
      } finally {
        await run.close();
        redis.stop();
      }
    },
  },
  {
    name: 'redis-kill-running',
    title: `Redis kill -9 (AOF always), ${DOWN_S} s down, 25 jobs running: double runs`,
    unit: 'jobs',
    async run(lib) {
      const redis = await startRedis({ appendOnly: true });
      const run = new Run(lib, redis);
      try {
        await run.start('worker');
        const producer = await run.start('producer');
        await run.emit(producer, keys(25, 'r'), 3000);
        await until(() => run.count('START') >= 25, 30_000, '25 running');
        await redis.kill();
        await sleep(DOWN_S * 1000);
        await redis.start();
        await run.drained(producer);
        return { value: run.doubleRuns(), extra: `${run.count('END')} ends` };
      } finally {
        await run.close();
        redis.stop();
      }
    },
  },
  {
    name: 'redis-kill-busy',
    title:
      'Redis kill -9 (AOF always), 5 s down, 500 short jobs in flight: double runs / last job done after Redis is back (s)',
    unit: 'jobs / s',
    async run(lib) {
      const redis = await startRedis({ appendOnly: true });
      const run = new Run(lib, redis);
      try {
        await run.start('worker');
        const producer = await run.start('producer');
        await run.emit(producer, keys(500, 'b'), 50);
        await until(() => run.count('END') >= 100, 30_000, '100 done');
        await redis.kill();
        await sleep(5000);
        await redis.start();
        const back = Date.now();
        await run.drained(producer);
        const done = (run.lastOf('END') - back) / 1000;
        return { value: run.doubleRuns(), second: Math.max(0, done) };
      } finally {
        await run.close();
        redis.stop();
      }
    },
  },
  {
    name: 'worker-kill',
    title:
      'Worker kill -9 with 50 running 2 s jobs, a spare worker started: all done after the kill (s)',
    unit: 's',
    async run(lib) {
      const redis = await startRedis();
      const run = new Run(lib, redis);
      try {
        const victim = await run.start('worker');
        const producer = await run.start('producer');
        await run.emit(producer, keys(50, 'w'), 2000);
        await until(() => run.count('START') >= 50, 30_000, '50 running');
        // The spare starts after the kill (started before, it would share the 50 jobs): its boot
        // time counts for both libraries alike.
        victim.signal('SIGKILL');
        const killed = Date.now();
        await run.start('worker');
        await run.drained(producer);
        return { value: (run.lastOf('END') - killed) / 1000, extra: `${run.doubleRuns()} double` };
      } finally {
        await run.close();
        redis.stop();
      }
    },
  },
  {
    name: 'frozen-worker',
    title:
      'A worker frozen (SIGSTOP) until another took its job over, then SIGCONT: its stale 120 s job (which honours its signal) still ran to its end',
    unit: 'yes/no',
    async run(lib) {
      const redis = await startRedis();
      const run = new Run(lib, redis);
      try {
        const frozen = await run.start('worker');
        const producer = await run.start('producer');
        // Longer than the freeze: a job whose time is up when the worker wakes ends before anything
        // could tell it that it lost the job.
        await run.emit(producer, ['f0'], 120_000);
        await until(() => run.count('START') === 1, 30_000, 'job running');
        await run.start('worker');
        frozen.signal('SIGSTOP');
        // Until another worker took the job over (visibility timeout or lock expiry).
        await until(() => run.count('START') === 2, 120_000, 'job reclaimed');
        frozen.signal('SIGCONT');
        await run.drained(producer);
        await sleep(1000);
        const staleEnded = run.journal.some((e) => e.type === 'END' && e.proc === frozen.id);
        return { value: staleEnded ? 1 : 0, label: staleEnded ? 'yes' : 'no (aborted)' };
      } finally {
        await run.close();
        redis.stop();
      }
    },
  },
  {
    name: 'redis-frozen',
    title: `Redis frozen (SIGSTOP) ${DOWN_S} s with 25 jobs running: double runs / error lines claiming a failed settle`,
    unit: 'jobs / lines',
    async run(lib) {
      const redis = await startRedis();
      const run = new Run(lib, redis);
      try {
        const worker = await run.start('worker');
        const producer = await run.start('producer');
        await run.emit(producer, keys(25, 'z'), 2000);
        await until(() => run.count('START') >= 25, 30_000, '25 running');
        redis.pause();
        await sleep(DOWN_S * 1000);
        redis.resume();
        await run.drained(producer);
        const falseErrors = (worker.output.match(/could not be settled|Missing lock/g) ?? [])
          .length;
        return { value: run.doubleRuns(), second: falseErrors };
      } finally {
        await run.close();
        redis.stop();
      }
    },
  },
  {
    name: 'emits-while-back',
    title:
      'Emits every 5 ms while Redis (AOF) is killed and back after 3 s: rejections after Redis is back (ms) / rejected emits whose job ran anyway',
    unit: 'ms / emits',
    async run(lib) {
      const redis = await startRedis({ appendOnly: true });
      const run = new Run(lib, redis);
      try {
        await run.start('worker');
        const producer = await run.start('producer');
        let stop = false;
        const pumping = (async () => {
          for (let i = 0; !stop; i++) {
            producer.send(`EMIT e${i} 1`);
            await sleep(5);
          }
        })();
        await sleep(1000);
        await redis.kill();
        await sleep(3000);
        await redis.start();
        const back = Date.now();
        await sleep(5000);
        stop = true;
        await pumping;
        await sleep(2000);
        await run.drained(producer);
        const rejected = run.journal.filter((e) => e.type === 'EMITTED' && e.ok === 'fail');
        const lastRejection = Math.max(back, ...rejected.map((e) => e.t));
        const ran = new Set(run.journal.filter((e) => e.type === 'START').map((e) => e.key));
        return {
          value: lastRejection - back,
          second: rejected.filter((e) => ran.has(e.key)).length,
        };
      } finally {
        await run.close();
        redis.stop();
      }
    },
  },
];

function median(values) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

const fmt = (v) => (Number.isFinite(v) ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : 'n/a');

async function main() {
  const rows = [];
  for (const drill of DRILLS.filter((d) => !ONLY || ONLY.includes(d.name))) {
    const cells = [];
    for (const lib of LIBS) {
      const results = [];
      for (let rep = 1; rep <= REPS; rep++) {
        log(`${drill.name} / ${NAMES[lib]} / rep ${rep}`);
        try {
          results.push(await drill.run(lib));
        } catch (error) {
          log(`  failed: ${error.message}`);
          results.push({ value: NaN });
        }
        log(`  ${JSON.stringify(results.at(-1))}`);
      }
      const values = results.map((r) => r.value);
      const seconds = results.map((r) => r.second).filter((v) => v !== undefined);
      let cell = `${fmt(median(values))}${seconds.length ? ` / ${fmt(median(seconds))}` : ''}`;
      if (results.some((r) => r.label)) cell = results.map((r) => r.label ?? 'n/a').join(', ');
      cell += ` (runs: ${results.map((r) => fmt(r.value) + (r.second !== undefined ? `/${fmt(r.second)}` : '')).join(', ')})`;
      cells.push(cell);
    }
    rows.push(`| ${drill.title} | ${drill.unit} | ${cells.join(' | ')} |`);
  }
  const cpus = os.cpus();
  const section = [
    '## Fault drills',
    '',
    `${new Date().toISOString()}, ${cpus[0]?.model?.trim()} (${cpus.length} cores), Node ${process.version}, ` +
      `medians of ${REPS} run(s), outages of ${DOWN_S} s where the title says so. Each library runs in ` +
      'its own processes on a private redis-server, with its defaults (nestjs-events: visibilityTimeout ' +
      'default; BullMQ 6.7: lockDuration 30 s). Lower is better everywhere.',
    '',
    `| drill | unit | ${LIBS.map((l) => NAMES[l]).join(' | ')} |`,
    `|---|---|${LIBS.map(() => '---').join('|')}|`,
    ...rows,
  ].join('\n');
  process.stdout.write(`${section}\n`);
  if (!ONLY)
    writeFileSync(
      join(BENCH_DIR, 'DRILLS.md'),
      `# Fault drills\n\nWritten by \`npm run drills\`.\n\n${section}\n`,
    );
}

await main();
