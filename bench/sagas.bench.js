// Sagas: reactive sagas against @nestjs/cqrs sagas (event in, output out, 1 and 10 sagas), and
// three-step orchestrated sagas on Redis against a three-level BullMQ FlowProducer chain of the
// same no-op steps, with Redis commands per step. Each library runs in a fresh process of its own
// per case (bench/rounds.js), BENCH_SAGAS_RUNS rounds (default 3) taking turns; medians ± spread.
//
//   node --expose-gc bench/sagas.bench.js          (after `npm run build`; `npm run bench` does it)
// BENCH_QUICK=1: small counts, a smoke test, not a measurement.
import 'reflect-metadata';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setImmediate } from 'node:timers';
import { fileURLToPath, URL } from 'node:url';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  CommandHandler,
  CqrsModule,
  EventBus as CqrsEventBus,
  ofType,
  Saga as CqrsSaga,
} from '@nestjs/cqrs';
import { FlowProducer, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { map } from 'rxjs';
import {
  EventBus,
  EventsModule,
  OnEvent,
  OrchestratedSaga,
  Saga,
  SagaManager,
  SagaStep,
  ofEvent,
} from '../dist/index.js';
import { startRedis } from './redis-server.js';
import { median, rotated, runChild, spread } from './rounds.js';

const QUICK = process.env.BENCH_QUICK === '1';
const EVENTS = QUICK ? 2_000 : 100_000;
const SAGAS = QUICK ? 200 : 5_000;
const CONCURRENCY = 10;
const RUNS = Number(process.env.BENCH_SAGAS_RUNS ?? (QUICK ? 1 : 3));
// BENCH_SAGAS_PARTS=orchestrated: only that part (a quick loop while tuning).
const PARTS = (process.env.BENCH_SAGAS_PARTS ?? 'reactive,orchestrated').split(',');
const BATCH = 500;
const log = (message) => process.stderr.write(`[sagas] ${message}\n`);
const fmt = (n) => Math.round(n).toLocaleString('en-US');

// ---------------------------------------------------------------- one case, in a child process
const outputs = { n: 0 };
let expected = Infinity;
let done;

/** `count` sagas that map every order.placed to one output. */
function reactiveModule(lib, count) {
  const providers = [];
  for (let i = 0; i < count; i++) {
    class Sagas {
      s = (events$) =>
        lib === 'ours'
          ? events$.pipe(
              ofEvent('order.placed'),
              map((e) => ({ name: 'invoice.requested', data: e.data })),
            )
          : events$.pipe(
              ofType(OrderPlaced),
              map((e) => new RequestInvoice(e.id)),
            );
    }
    (lib === 'ours' ? Saga() : CqrsSaga())(Sagas.prototype, 's');
    Injectable()(Sagas);
    providers.push(Sagas);
  }
  class Counter {
    handle() {
      if (++outputs.n === expected) done();
    }
    execute() {
      this.handle();
    }
  }
  if (lib === 'ours') {
    const method = Object.getOwnPropertyDescriptor(Counter.prototype, 'handle');
    OnEvent('invoice.requested')(Counter.prototype, 'handle', method);
  } else {
    CommandHandler(RequestInvoice)(Counter);
  }
  Injectable()(Counter);
  class AppModule {}
  Module({
    imports: [lib === 'ours' ? EventsModule.forRoot() : CqrsModule.forRoot()],
    providers: [...providers, Counter],
  })(AppModule);
  return AppModule;
}
class OrderPlaced {
  constructor(id) {
    this.id = id;
  }
}
class RequestInvoice {
  constructor(id) {
    this.id = id;
  }
}

async function reactiveCase(lib, count) {
  const app = await NestFactory.createApplicationContext(reactiveModule(lib, count), {
    logger: false,
  });
  await app.init();
  const emit =
    lib === 'ours'
      ? (
          (bus) => (i) =>
            void bus.emit('order.placed', { id: i })
        )(app.get(EventBus))
      : (
          (bus) => (i) =>
            bus.publish(new OrderPlaced(i))
        )(app.get(CqrsEventBus));
  const run = async (n) => {
    outputs.n = 0;
    expected = n * count;
    const finished = new Promise((resolve) => (done = resolve));
    const start = performance.now();
    for (let i = 0; i < n; i++) {
      emit(i);
      if (i % BATCH === BATCH - 1) await new Promise((resolve) => setImmediate(resolve));
    }
    await finished;
    return n / ((performance.now() - start) / 1000);
  };
  await run(Math.min(EVENTS, 2000)); // warm-up
  const rate = await run(EVENTS);
  await app.close();
  return { rate };
}

/** INFO commandstats total calls (INFO and RESETSTAT left out). */
async function commands(admin) {
  const info = await admin.info('commandstats');
  let total = 0;
  for (const match of info.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) {
    if (match[1] !== 'info' && match[1] !== 'config|resetstat') total += Number(match[2]);
  }
  if (process.env.BENCH_SAGAS_COMMANDS === '1') process.stderr.write(info);
  return total;
}

/** CPU time (µs) the redis-server used so far: less moved by the machine's load than wall time. */
async function redisCpu(admin) {
  const info = await admin.info('cpu');
  const field = (name) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)[1]);
  return 1e6 * (field('used_cpu_user') + field('used_cpu_sys'));
}

/** Runs `work` for `steps` steps: rate, Redis commands and CPU µs (this process, Redis) per step. */
async function measured(admin, n, work) {
  await admin.config('RESETSTAT');
  const redisAt = await redisCpu(admin);
  const cpu = process.cpuUsage();
  const start = performance.now();
  await work();
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  const steps = n * 3;
  return {
    rate: n / seconds,
    perStep: (await commands(admin)) / steps,
    appCpu: (used.user + used.system) / steps,
    redisCpu: ((await redisCpu(admin)) - redisAt) / steps,
  };
}

async function orchestratedCase(url) {
  class ThreeSteps {
    one() {}
    two() {}
    three() {}
  }
  for (const name of ['one', 'two', 'three']) {
    SagaStep({ tries: 1 })(
      ThreeSteps.prototype,
      name,
      Object.getOwnPropertyDescriptor(ThreeSteps.prototype, name),
    );
  }
  OrchestratedSaga({ name: 'three' })(ThreeSteps);
  Injectable()(ThreeSteps);
  class AppModule {}
  Module({
    imports: [
      EventsModule.forRoot({
        redis: url,
        // A prefix of its own per process: the rounds share the redis-server.
        prefix: `bench-sagas-${process.pid}`,
        worker: { concurrency: CONCURRENCY },
      }),
    ],
    providers: [ThreeSteps],
  })(AppModule);
  const app = await NestFactory.createApplicationContext(AppModule, { logger: ['error'] });
  await app.init();
  const sagas = app.get(SagaManager);
  const admin = new Redis(url);
  const run = (n, tag) =>
    measured(admin, n, () =>
      Promise.all(
        Array.from({ length: n }, (_, i) =>
          sagas.execute(ThreeSteps, { i }, { id: `${tag}-${i}` }),
        ),
      ),
    );
  await run(Math.min(SAGAS, 100), 'warm');
  const result = await run(SAGAS, 'run');
  admin.disconnect();
  await app.close();
  return result;
}

async function flowCase(url) {
  const { port } = new URL(url);
  const connection = { host: '127.0.0.1', port: Number(port) };
  const admin = new Redis(url);
  let finished = 0;
  let target = Infinity;
  let resolveAll;
  // A queue of its own per process: the rounds share the redis-server.
  const queueName = `flow-${process.pid}`;
  const worker = new Worker(
    queueName,
    async (job) => {
      if (job.name === 'parent' && ++finished === target) resolveAll();
    },
    { connection, concurrency: CONCURRENCY },
  );
  const flows = new FlowProducer({ connection });
  const run = (n) => {
    finished = 0;
    target = n;
    const all = new Promise((resolve) => (resolveAll = resolve));
    return measured(admin, n, async () => {
      await Promise.all(
        Array.from({ length: n }, (_, i) =>
          flows.add({
            name: 'parent',
            queueName,
            data: { i },
            children: [
              {
                name: 'child',
                queueName,
                data: { i },
                children: [{ name: 'leaf', queueName, data: { i } }],
              },
            ],
          }),
        ),
      );
      await all;
    });
  };
  await run(Math.min(SAGAS, 100));
  const result = await run(SAGAS);
  await worker.close();
  await flows.close();
  admin.disconnect();
  return result;
}

// ---------------------------------------------------------------- the parent
const SELF = fileURLToPath(import.meta.url);
const loads = [];
/** Runs one case in a fresh process; resolves to what it printed. */
function child(...args) {
  log(`${args.slice(0, 3).join(' ')} (load ${loadavg()[0].toFixed(2)})`);
  loads.push(loadavg()[0]);
  return runChild(SELF, args);
}
const rate = (runs) => median(runs.map((r) => r.rate));
const withSpread = (runs) =>
  `${fmt(rate(runs))} ±${(spread(runs.map((r) => r.rate)) * 100).toFixed(0)}%`;
/** The ratio of each round (the two ran one after the other), and their median. */
const perRound = (ours, peer) => {
  const ratios = ours.map((o, i) => o.rate / peer[i].rate);
  return `${ratios.map((r) => `${r.toFixed(2)}×`).join(', ')}; median ${median(ratios).toFixed(2)}×`;
};

async function main() {
  const out = ['## Sagas', ''];
  let allMet = true;
  if (PARTS.includes('reactive')) {
    const rows = [1, 10].map((count) => ({ count, ours: [], cqrs: [] }));
    for (let round = 1; round <= RUNS; round++) {
      log(`reactive, round ${round}/${RUNS}`);
      for (const row of rows) {
        for (const lib of rotated(['ours', 'cqrs'], round)) {
          row[lib].push(child('reactive', lib, row.count));
        }
      }
    }
    out.push(
      `Reactive: ${fmt(EVENTS)} events through N sagas that each map every event to one output, counted by a no-op handler (our outputs are events through the bus; @nestjs/cqrs outputs are commands, its saga model). Each library in a fresh process per case, ${RUNS} round(s) taking turns: medians ± spread (half the range over the median); the ratio is of the medians.`,
    );
    out.push('');
    out.push(
      '| sagas | nestjs-events (events/s) | @nestjs/cqrs (events/s) | ratio | target ≥ 2× |',
    );
    out.push('|---:|---:|---:|---:|---|');
    for (const { count, ours, cqrs } of rows) {
      const ratio = rate(ours) / rate(cqrs);
      allMet &&= ratio >= 2;
      out.push(
        `| ${count} | ${withSpread(ours)} | ${withSpread(cqrs)} | ${ratio.toFixed(2)}× | ${ratio >= 2 ? 'met' : 'MISSED'} |`,
      );
    }
    out.push('');
  }
  if (PARTS.includes('orchestrated')) {
    const redis = await startRedis();
    const runs = { ours: [], bullmq: [] };
    try {
      for (let round = 1; round <= RUNS; round++) {
        log(`orchestrated, round ${round}/${RUNS}`);
        for (const lib of rotated(['ours', 'bullmq'], round)) {
          runs[lib].push(child('orchestrated', lib, redis.url));
        }
      }
    } finally {
      redis.stop();
    }
    const { ours, bullmq } = runs;
    const ratio = rate(ours) / rate(bullmq);
    out.push(
      `Orchestrated: ${fmt(SAGAS)} three-step sagas of no-op steps on one private redis-server, concurrency ${CONCURRENCY}, all started at once and awaited (\`execute\`); BullMQ: the same number of three-level \`FlowProducer\` chains (leaf → child → parent). Each library in a fresh process, ${RUNS} round(s) taking turns: medians ± spread; the ratio is of the medians (per round: ${perRound(ours, bullmq)}). Commands per step from INFO commandstats (inside Lua included); CPU per step (medians) of the process (\`process.cpuUsage()\`) and of the redis-server (INFO cpu), from the first start to the last end: work done, which the load moves less than the rate.`,
    );
    out.push('');
    out.push(
      '| | per second | commands/step | CPU µs/step, process + Redis | ratio | target ≥ 1× |',
    );
    out.push('|---|---:|---:|---:|---:|---|');
    const costs = (runs) =>
      `${median(runs.map((r) => r.perStep)).toFixed(1)} | ${median(runs.map((r) => r.appCpu)).toFixed(0)} + ${median(runs.map((r) => r.redisCpu)).toFixed(0)}`;
    out.push(
      `| nestjs-events sagas | ${withSpread(ours)} | ${costs(ours)} | ${ratio.toFixed(2)}× | ${ratio >= 1 ? 'met' : 'MISSED'} |`,
    );
    out.push(`| BullMQ flows | ${withSpread(bullmq)} | ${costs(bullmq)} | | |`);
    allMet &&= ratio >= 1;
    out.push('');
  }
  out.push(
    `${cpus().length} cores, Node ${process.version}; load average (1 min) during the runs: median ${median(loads).toFixed(2)}, max ${Math.max(...loads).toFixed(2)}.`,
  );
  out.push('');
  log(allMet ? 'all targets met' : 'a target was MISSED');
  process.stdout.write(`${out.join('\n')}\n`);
}

if (process.argv[2] === '--child') {
  const [, , , kind, lib, arg] = process.argv;
  const result =
    kind === 'reactive'
      ? await reactiveCase(lib, Number(arg))
      : lib === 'ours'
        ? await orchestratedCase(arg)
        : await flowCase(arg);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
} else {
  await main();
}
