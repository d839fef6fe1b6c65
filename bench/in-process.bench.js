// In-process dispatch, side by side: Node's EventEmitter (the floor), eventemitter2,
// @nestjs/event-emitter, @nestjs/cqrs and nestjs-events, each in the mode a user would run it
// (the Nest ones in a real application context with their decorators).
//
// Run it through `npm run bench` (it builds `dist/` first), or alone after a build:
//   node --expose-gc bench/in-process.bench.js
// It prints one markdown section on stdout and its progress on stderr.
// BENCH_QUICK=1 runs few, short rounds: a smoke test, not a measurement.
import 'reflect-metadata';
import { AsyncLocalStorage } from 'node:async_hooks';
import { fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { setImmediate } from 'node:timers';
import { fileURLToPath } from 'node:url';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CqrsModule, EventBus as CqrsEventBus, EventsHandler } from '@nestjs/cqrs';
import {
  EventEmitter2 as NestEventEmitter2,
  EventEmitterModule,
  OnEvent as NestOnEvent,
} from '@nestjs/event-emitter';
import EventEmitter2Module from 'eventemitter2';
import { Registry } from 'prom-client';
import { EventBus, EventsModule, OnEvent, ShouldQueue } from '../dist/index.js';

const { EventEmitter2 } = EventEmitter2Module;

const QUICK = process.env.BENCH_QUICK === '1';
const WARMUP_MS = QUICK ? 40 : 400;
const ROUND_MS = QUICK ? 10 : 40;
const ROUNDS = QUICK ? 3 : 15;
// Each library runs in this many fresh processes per case (one after the other); the table
// reports the median of their medians and the spread between them.
const PROCESSES = Number(process.env.BENCH_PROCESSES ?? (QUICK ? 1 : 3));
// Sync emits run in batches; after each batch the bench waits for a macrotask, so the promises
// and microtasks a library leaves behind (nest's async wrappers, cqrs's RxJS handler promises,
// our emit promise) are paid for inside the measurement.
const BATCH = 500;
const EMIT_NAME = 'order.created';
const PAYLOAD = { id: 'o1', total: 42 };

// Optional filters for profiling one corner: BENCH_CASES=one,ten BENCH_LIBS=ours,nestWildcard.
const only = (variable) => process.env[variable]?.split(',').filter(Boolean);
const ONLY_CASES = only('BENCH_CASES');
const ONLY_LIBS = only('BENCH_LIBS');

const gc = globalThis.gc;
if (typeof gc !== 'function') {
  throw new Error('run with --expose-gc (npm run bench does)');
}

const log = (message) => process.stderr.write(`[in-process] ${message}\n`);

// Every listener of every library does the same work: count the call.
const hits = { n: 0 };
const syncListener = () =>
  function listener() {
    hits.n++;
  };
const asyncListener = () =>
  async function listener() {
    hits.n++;
  };

// ---------------------------------------------------------------------------------------------
// Cases: the listeners registered (one pattern each) and the event emitted, always `order.created`.

const DOMAINS = 50;
const otherExact = (i) => `d${i % DOMAINS}.e${i}`;
const otherWildcard = (i) =>
  [`d${i % DOMAINS}.e${i}.*`, `d${i % DOMAINS}.*.e${i}`, `d${i % DOMAINS}.e${i}.**`][i % 3];

const CASES = [
  {
    id: 'one',
    title: 'One listener',
    what: 'one sync listener on `order.created`',
    patterns: [EMIT_NAME],
  },
  {
    id: 'ten',
    title: 'Ten listeners',
    what: 'ten sync listeners on `order.created`',
    patterns: Array.from({ length: 10 }, () => EMIT_NAME),
  },
  {
    id: 'exact1000',
    title: '1,000 exact patterns, one matches',
    what:
      'one sync listener on `order.created` among 1,000 listeners; the 999 others listen to ' +
      `exact names over ${DOMAINS} prefixes (\`${otherExact(357)}\`)`,
    patterns: [...Array.from({ length: 999 }, (_, i) => otherExact(i)), EMIT_NAME],
  },
  {
    id: 'wildcard1000',
    title: '1,000 wildcard patterns, one matches',
    what:
      'one sync listener on `order.*` among 1,000 listeners; the 999 others listen to wildcard ' +
      `patterns over ${DOMAINS} prefixes (\`${otherWildcard(357)}\`, \`${otherWildcard(358)}\`, ` +
      `\`${otherWildcard(359)}\`)`,
    patterns: [...Array.from({ length: 999 }, (_, i) => otherWildcard(i)), 'order.*'],
    needsWildcards: true,
  },
  {
    id: 'async1',
    title: 'One async listener, awaited',
    what: 'one `async` listener on `order.created`; each emit is awaited until it has run',
    patterns: [EMIT_NAME],
    isAsync: true,
  },
  {
    id: 'async10',
    title: 'Ten async listeners, awaited',
    what: 'ten `async` listeners on `order.created`; each emit is awaited until all have run',
    patterns: Array.from({ length: 10 }, () => EMIT_NAME),
    isAsync: true,
  },
  {
    id: 'queued1',
    title: 'One sync and one queued listener, awaited',
    what:
      'one sync listener and one queued listener (`@ShouldQueue`, embedded transport, worker in ' +
      'the same process) on `order.created`; each `emit` is awaited until its job is stored ' +
      '(nestjs-events only: the peers have no queued listeners)',
    patterns: [EMIT_NAME],
    isAsync: true,
    isQueued: true,
  },
];

for (const c of CASES) {
  // How many listeners one emit of `order.created` must reach: checked before measuring.
  c.expectedHits = c.patterns.filter((p) => p === EMIT_NAME || p === 'order.*').length;
}

// ---------------------------------------------------------------------------------------------
// Subjects: each sets a case up and returns { emit, close, note? }, or { skip: reason }.

/** A provider class with one decorated method per pattern, decorators applied as functions. */
function listenerClass(name, patterns, isAsync, decorate) {
  const Listeners = { [name]: class {} }[name];
  patterns.forEach((pattern, i) => {
    const key = `on${i}`;
    Object.defineProperty(Listeners.prototype, key, {
      value: isAsync ? asyncListener() : syncListener(),
      writable: true,
      configurable: true,
    });
    decorate(pattern)(
      Listeners.prototype,
      key,
      Object.getOwnPropertyDescriptor(Listeners.prototype, key),
    );
  });
  Injectable()(Listeners);
  return Listeners;
}

async function nestApp(imports, providers) {
  const AppModule = class BenchAppModule {};
  Module({ imports, providers })(AppModule);
  return NestFactory.createApplicationContext(AppModule, { logger: false });
}

const SUBJECTS = [
  {
    id: 'node',
    label: 'Node `EventEmitter`',
    async setup(c) {
      if (c.needsWildcards) return { skip: 'no wildcards' };
      const emitter = new EventEmitter();
      emitter.setMaxListeners(0);
      for (const p of c.patterns) emitter.on(p, c.isAsync ? asyncListener() : syncListener());
      if (c.isAsync) {
        // No emitAsync: call the listeners and await their promises, the least any bus must do.
        return {
          emit: () => Promise.all(emitter.listeners(EMIT_NAME).map((fn) => fn(PAYLOAD))),
          note: '`Promise.all(emitter.listeners(name).map((fn) => fn(payload)))`',
        };
      }
      return { emit: () => emitter.emit(EMIT_NAME, PAYLOAD) };
    },
  },
  {
    id: 'floorAls',
    label: 'floor: the listeners alone, awaited, app with an `AsyncLocalStorage`',
    isVariant: true,
    setup(c) {
      if (!c.isAsync || c.isQueued) return { skip: 'async cases only' };
      // What any bus that carries a context across `await` pays at least on Node 20 (promise
      // hooks on every promise): the listeners' own promises, one reaction each to gather the
      // results, and the caller's await; no envelope, no lookup, no context entered per emit.
      new AsyncLocalStorage().run({}, () => undefined);
      const fns = c.patterns.filter((p) => p === EMIT_NAME).map(() => asyncListener());
      const one = (value) => [value];
      return {
        emit:
          fns.length === 1
            ? () => fns[0](PAYLOAD).then(one)
            : () => Promise.all(fns.map((fn) => fn(PAYLOAD))),
        note:
          '`listener(payload).then((v) => [v])` (ten: `Promise.all` of the ten), in a process ' +
          'with an `AsyncLocalStorage` entered: the promise hooks alone, nothing of a bus',
      };
    },
  },
  {
    id: 'floorContract',
    label: 'floor: what every emit of ours must do, nothing else',
    isVariant: true,
    setup(c) {
      if (c.isAsync) return { skip: 'sync cases only' };
      // What the contract makes every emit pay, whatever the code around it: the envelope's
      // timestamp (a clock read), the payload check's refusal of symbol keys (the one own-keys
      // call that sees them), and the promise `emit` returns; the listeners are found by one
      // Map lookup and called directly. No id, no context, no options: a lower bound.
      const table = new Map([
        [EMIT_NAME, c.patterns.filter((p) => p === EMIT_NAME || p === 'order.*').map(syncListener)],
      ]);
      return {
        emit() {
          const listeners = table.get(EMIT_NAME);
          if (Object.getOwnPropertySymbols(PAYLOAD).length > 0) throw new TypeError('symbol key');
          const envelope = { name: EMIT_NAME, data: PAYLOAD, timestamp: Date.now() };
          for (let i = 0; i < listeners.length; i++) listeners[i](envelope);
          return Promise.resolve(envelope);
        },
        note:
          '`Date.now()`, `Object.getOwnPropertySymbols(payload)`, the matching listeners from ' +
          'one `Map` lookup, `Promise.resolve(envelope)`: what the envelope, the payload ' +
          'contract and the returned promise cost, without the rest of a bus',
      };
    },
  },
  {
    id: 'ee2',
    label: '`eventemitter2` (wildcard)',
    async setup(c) {
      const emitter = new EventEmitter2({ wildcard: true, maxListeners: 0 });
      for (const p of c.patterns) emitter.on(p, c.isAsync ? asyncListener() : syncListener());
      if (c.isAsync) return { emit: () => emitter.emitAsync(EMIT_NAME, PAYLOAD) };
      return { emit: () => emitter.emit(EMIT_NAME, PAYLOAD) };
    },
  },
  {
    id: 'nestWildcard',
    label: '`@nestjs/event-emitter` (wildcard)',
    setup: (c) => setupNestEventEmitter(c, true),
  },
  {
    id: 'nestWildcardAls',
    label: '`@nestjs/event-emitter` (wildcard), app with an `AsyncLocalStorage`',
    setup(c) {
      // Apps that use nestjs-cls, OpenTelemetry or their own AsyncLocalStorage pay its promise
      // hooks in every library; nestjs-events always does. This row compares on that footing.
      new AsyncLocalStorage().run({}, () => undefined);
      return setupNestEventEmitter(c, true);
    },
  },
  {
    id: 'nestPlain',
    label: '`@nestjs/event-emitter` (no wildcard)',
    setup: (c) => setupNestEventEmitter(c, false),
  },
  {
    id: 'cqrs',
    label: '`@nestjs/cqrs` `EventBus`',
    async setup(c) {
      if (c.needsWildcards) return { skip: 'no patterns: handlers subscribe to event classes' };
      // One event class per distinct name, one @EventsHandler class per listener.
      const eventClasses = new Map();
      for (const p of new Set(c.patterns)) {
        eventClasses.set(
          p,
          class {
            constructor(payload) {
              this.payload = payload;
            }
          },
        );
      }
      const handlers = c.patterns.map((p) => {
        const Handler = c.isAsync
          ? class {
              async handle(event) {
                hits.n++;
                if (--event.pending === 0) event.done();
              }
            }
          : class {
              handle() {
                hits.n++;
              }
            };
        EventsHandler(eventClasses.get(p))(Handler);
        Injectable()(Handler);
        return Handler;
      });
      const app = await nestApp([CqrsModule.forRoot()], handlers);
      const bus = app.get(CqrsEventBus);
      const Event = eventClasses.get(EMIT_NAME);
      if (c.isAsync) {
        // publish() returns nothing to await: the handlers count down and resolve a promise
        // carried by the event once the last one has run.
        return {
          emit: () =>
            new Promise((resolve) => {
              const event = new Event(PAYLOAD);
              event.pending = c.expectedHits;
              event.done = resolve;
              bus.publish(event);
            }),
          close: () => app.close(),
          note: '`publish(event)`, then a promise the handlers resolve when the last one has run',
        };
      }
      return { emit: () => bus.publish(new Event(PAYLOAD)), close: () => app.close() };
    },
  },
  {
    id: 'ours',
    label: '**nestjs-events**',
    isOurs: true,
    setup: (c) => setupOurs(c, {}),
  },
  {
    id: 'oursNoContext',
    label: 'nestjs-events with `asyncContext: false`',
    isVariant: true,
    setup(c) {
      // Only awaited async listeners run differently in this mode.
      if (!c.isAsync || c.isQueued) return { skip: 'same code path as the default' };
      return setupOurs(c, { asyncContext: false });
    },
  },
  {
    id: 'oursNoMetrics',
    label: 'nestjs-events with `metrics: false`',
    isVariant: true,
    // Issue 16: the baseline of the metrics cost (the default counts emits and queued attempts).
    setup: (c) => setupOurs(c, { metrics: false }),
  },
  {
    id: 'oursObserved',
    label: 'nestjs-events with `metrics: { inProcess: true, prometheus }`',
    isVariant: true,
    // Every in-process call timed, and fed to prom-client counters and a histogram.
    setup: (c) =>
      setupOurs(c, { metrics: { inProcess: true, prometheus: { registry: new Registry() } } }),
  },
];

async function setupOurs(c, options) {
  const isAsync = c.isAsync && !c.isQueued;
  const Listeners = listenerClass('OrderListeners', c.patterns, isAsync, (p) => OnEvent(p));
  const providers = [Listeners];
  if (c.isQueued) {
    // Its runs are not counted in `hits`: the worker runs them after the emit resolved.
    class QueuedListeners {
      queued() {}
    }
    const method = Object.getOwnPropertyDescriptor(QueuedListeners.prototype, 'queued');
    ShouldQueue({ queue: 'bench' })(QueuedListeners.prototype, 'queued', method);
    OnEvent(EMIT_NAME)(QueuedListeners.prototype, 'queued', method);
    Injectable()(QueuedListeners);
    providers.push(QueuedListeners);
  }
  const app = await nestApp([EventsModule.forRoot(options)], providers);
  const bus = app.get(EventBus);
  if (c.isQueued) return { emit: () => bus.emit(EMIT_NAME, PAYLOAD), close: () => app.close() };
  if (c.isAsync) {
    return { emit: () => bus.emitAsync(EMIT_NAME, PAYLOAD), close: () => app.close() };
  }
  return { emit: () => bus.emit(EMIT_NAME, PAYLOAD), close: () => app.close() };
}

async function setupNestEventEmitter(c, wildcard) {
  if (c.needsWildcards && !wildcard) return { skip: 'wildcards off' };
  const Listeners = listenerClass('OrderListeners', c.patterns, c.isAsync, (p) => NestOnEvent(p));
  const app = await nestApp(
    [EventEmitterModule.forRoot({ wildcard, maxListeners: 0 })],
    [Listeners],
  );
  const emitter = app.get(NestEventEmitter2);
  if (c.isAsync) {
    return { emit: () => emitter.emitAsync(EMIT_NAME, PAYLOAD), close: () => app.close() };
  }
  return { emit: () => emitter.emit(EMIT_NAME, PAYLOAD), close: () => app.close() };
}

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
async function worker(caseId, subjectId) {
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
  const child = fork(fileURLToPath(import.meta.url), ['--worker', c.id, subject.id], {
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
async function measureCase(c, subjects = SUBJECTS) {
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

// ---------------------------------------------------------------------------------------------
// Report.

const fmtNs = (ns) => (ns >= 100 ? Math.round(ns).toLocaleString('en-US') : ns.toFixed(1));
function fmtRate(ns) {
  const rate = 1e9 / ns;
  if (rate >= 1e6) return `${(rate / 1e6).toFixed(2)} M`;
  if (rate >= 1e3) return `${(rate / 1e3).toFixed(0)} k`;
  return rate.toFixed(0);
}
/** How much faster ours is than a peer: peer time / our time. */
const speedup = (oursNs, peerNs) => peerNs / oursNs;
function fmtSpeedup(x) {
  return x >= 1 ? `${x.toFixed(2)}× faster` : `${(1 / x).toFixed(2)}× slower`;
}

function caseSection(c, results) {
  const ours = results.get('ours');
  const lines = [
    `### ${c.title}`,
    '',
    `${c.what[0].toUpperCase()}${c.what.slice(1)}.`,
    '',
    '| library | ns / emit (median) | events / s | per process (ns) | spread | best round (ns) | nestjs-events is |',
    '|---|--:|--:|--:|--:|--:|---|',
  ];
  const notes = [];
  for (const subject of SUBJECTS) {
    const r = results.get(subject.id);
    if (r.skip) {
      lines.push(`| ${subject.label} | n/a (${r.skip}) | | | | | |`);
      continue;
    }
    const versus = subject.isOurs || subject.isVariant ? '' : fmtSpeedup(speedup(ours.ns, r.ns));
    lines.push(
      `| ${subject.label} | ${fmtNs(r.ns)} | ${fmtRate(r.ns)} | ${r.medians.map(fmtNs).join(' / ')} | ±${Math.round(r.spread * 50)}% | ${fmtNs(r.best)} | ${versus} |`,
    );
    if (r.note) notes.push(`${subject.label}: ${r.note}.`);
  }
  if (notes.length > 0) lines.push('', ...notes.map((n) => `- ${n}`));
  return lines.join('\n');
}

/**
 * The targets, each judged on the medians: a list of { issue, label, ours, peer, fmt, ok }.
 * `ok(x)` gets x = peer time / our time.
 */
function targetRows(all) {
  const get = (caseId, subjectId) => all.get(caseId).get(subjectId);
  const times = (x) => `${x.toFixed(2)}×`;
  const rows = [];
  // `factor`: how many times faster than the peer the target asks ours to be. The floor of the
  // case (what any emit of ours pays, measured in the same run) tells whether the time the
  // target allows is reachable at all.
  const add = (issue, label, caseId, peerId, ok, fmt = fmtSpeedup, oursId = 'ours', factor = 1) => {
    const peer = get(caseId, peerId);
    const ours = get(caseId, oursId);
    if (peer.skip || ours.skip) return;
    const c = CASES.find((x) => x.id === caseId);
    const floor = get(caseId, c.isAsync ? 'floorAls' : 'floorContract');
    rows.push({ issue, label, ours, peer, fmt, ok, floor, need: peer.ns / factor });
  };
  const title = (id) => CASES.find((c) => c.id === id).title.toLowerCase();
  // Issue 15.
  for (const id of ['async1', 'async10']) {
    add(
      15,
      `${title(id)}: at least as fast as \`@nestjs/event-emitter\` (wildcard)`,
      id,
      'nestWildcard',
      (x) => x >= 1,
    );
  }
  add(
    15,
    'one listener: at most the time of `@nestjs/event-emitter` without wildcards',
    'one',
    'nestPlain',
    (x) => x >= 1,
  );
  for (const id of ['ten', 'exact1000', 'wildcard1000']) {
    add(
      15,
      `${title(id)}: ≥ 2× \`@nestjs/event-emitter\` (wildcard)`,
      id,
      'nestWildcard',
      (x) => x >= 2,
      times,
      'ours',
      2,
    );
  }
  for (const id of ['one', 'ten', 'exact1000', 'wildcard1000']) {
    add(15, `${title(id)}: no slower than \`eventemitter2\` (wildcard)`, id, 'ee2', (x) => x >= 1);
  }
  // Issue 2.
  for (const c of CASES) {
    add(
      2,
      `${c.title.toLowerCase()}: faster than \`@nestjs/event-emitter\` (wildcard)`,
      c.id,
      'nestWildcard',
      (x) => x > 1,
    );
    add(2, `${c.title.toLowerCase()}: faster than \`@nestjs/cqrs\``, c.id, 'cqrs', (x) => x > 1);
  }
  // Issue 16: with in-process timing and Prometheus on, still faster in every case.
  for (const c of CASES) {
    add(
      16,
      `${c.title.toLowerCase()}, \`metrics: { inProcess: true, prometheus }\`: faster than \`@nestjs/event-emitter\` (wildcard)`,
      c.id,
      'nestWildcard',
      (x) => x > 1,
      fmtSpeedup,
      'oursObserved',
    );
  }
  for (const id of ['exact1000', 'wildcard1000']) {
    // Cost relative to one listener: one-listener time / 1,000-pattern time, so ≥ 1/1.3.
    rows.push({
      issue: 2,
      label: `${title(id)}: ≤ 1.3× the one-listener cost`,
      ours: get(id, 'ours'),
      peer: get('one', 'ours'),
      fmt: (x) => `${(1 / x).toFixed(2)}×`,
      ok: (x) => 1 / x <= 1.3,
    });
  }
  return rows;
}

function targetsSection(all) {
  const rows = targetRows(all);
  const lines = [
    '### Targets',
    '',
    'A check, not a test: judged on the medians of the fresh processes; the best-round column ' +
      'repeats the comparison on the fastest round of each side, steadier when the machine is shared.',
    '',
    'The last column sets the time the target allows ours against the floor of the case, ' +
      'measured in the same run: for sync cases what every emit of ours must do (see the ' +
      '"floor: what every emit of ours must do" rows), for async cases the listeners alone in ' +
      'a process with an `AsyncLocalStorage`. A target that allows less than its floor cannot ' +
      'be met without dropping part of the contract.',
    '',
    '| issue | target | measured (medians) | | best rounds | allowed / floor (ns) |',
    '|--:|---|--:|---|--:|--:|',
  ];
  let belowFloor = 0;
  for (const r of rows) {
    const x = speedup(r.ours.ns, r.peer.ns);
    const isMet = r.ok(x);
    const verdict = isMet ? '✅ met' : '❌ **MISSED**';
    let floor = '-';
    if (r.floor !== undefined && !r.floor.skip) {
      const isBelow = r.need < r.floor.ns;
      if (isBelow && !isMet) belowFloor++;
      floor = `${fmtNs(r.need)} / ${fmtNs(r.floor.ns)}${isBelow ? ' (below the floor)' : ''}`;
    }
    lines.push(
      `| ${r.issue} | ${r.label} | ${r.fmt(x)} | ${verdict} | ${r.fmt(speedup(r.ours.best, r.peer.best))} | ${floor} |`,
    );
    log(`${isMet ? 'target met   ' : 'TARGET MISSED'} (issue ${r.issue}) ${r.label}: ${r.fmt(x)}`);
  }
  const missed = rows.filter((r) => !r.ok(speedup(r.ours.ns, r.peer.ns))).length;
  lines.push(
    '',
    missed === 0
      ? '**Every target met.**'
      : `**${missed} of ${rows.length} targets MISSED**; ${belowFloor} of them allow less time than the floor of their case.`,
  );
  return lines.join('\n');
}

/** Issue 16: what metrics cost per emit, against `metrics: false` in the same run. */
function metricsCostSection(all) {
  const lines = [
    '### Cost of metrics (issue 16)',
    '',
    'Each mode against `metrics: false` in the same run (medians; + is slower). The default ' +
      'counts emits (one hook where the bus delivers an event) and queued attempts; ' +
      '`inProcess: true` also times every in-process call; Prometheus reads those totals at ' +
      'scrape time (nothing per event).',
    '',
    '| case | `metrics: false` (ns) | default (ns) | default cost | `inProcess` + Prometheus (ns) | its cost |',
    '|---|--:|--:|--:|--:|--:|',
  ];
  const cost = (ns, base) => `${ns >= base ? '+' : ''}${(((ns - base) / base) * 100).toFixed(1)}%`;
  for (const c of CASES) {
    const results = all.get(c.id);
    const [off, ours, observed] = ['oursNoMetrics', 'ours', 'oursObserved'].map((id) =>
      results.get(id),
    );
    if (off.skip || ours.skip || observed.skip) continue;
    lines.push(
      `| ${c.title} | ${fmtNs(off.ns)} | ${fmtNs(ours.ns)} | ${cost(ours.ns, off.ns)} | ${fmtNs(observed.ns)} | ${cost(observed.ns, off.ns)} |`,
    );
    log(
      `metrics cost (${c.id}): default ${cost(ours.ns, off.ns)}, inProcess+prometheus ${cost(observed.ns, off.ns)}`,
    );
  }
  return lines.join('\n');
}

function summarySection(all) {
  const peers = SUBJECTS.filter((s) => !s.isOurs && !s.isVariant);
  const header = ['nestjs-events vs', ...CASES.map((c) => c.title)];
  const lines = [
    '### nestjs-events against each peer (peer time / our time; above 1 = we are faster)',
    '',
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (i === 0 ? '---' : '--:')).join('|')}|`,
  ];
  for (const peer of peers) {
    const cells = CASES.map((c) => {
      const r = all.get(c.id).get(peer.id);
      return r.skip ? 'n/a' : `${speedup(all.get(c.id).get('ours').ns, r.ns).toFixed(2)}×`;
    });
    lines.push(`| ${peer.label} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

async function main() {
  if (ONLY_CASES || ONLY_LIBS) {
    // A partial run: print the raw medians only (the report needs every case and library).
    for (const c of CASES.filter((x) => !ONLY_CASES || ONLY_CASES.includes(x.id))) {
      const subjects = SUBJECTS.filter((x) => !ONLY_LIBS || ONLY_LIBS.includes(x.id));
      const results = await measureCase(c, subjects);
      for (const [id, r] of results) {
        const text = r.skip
          ? `n/a (${r.skip})`
          : `median ${fmtNs(r.ns)} ns (processes ${r.medians.map(fmtNs).join(' / ')}, ` +
            `spread ±${Math.round(r.spread * 50)}%), best ${fmtNs(r.best)} ns`;
        process.stdout.write(`${c.id} ${id}: ${text}\n`);
      }
    }
    return;
  }
  const all = new Map();
  for (const c of CASES) {
    log(`${c.title}...`);
    all.set(c.id, await measureCase(c));
  }
  const out = [
    '## In-process dispatch',
    '',
    'All libraries are measured in the same run, with the same listener body (count the call) ' +
      'and the same payload. The Nest libraries run in a real application context ' +
      '(`NestFactory.createApplicationContext`) with their own decorators: `@OnEvent` for ' +
      '`@nestjs/event-emitter` and for nestjs-events (`EventsModule.forRoot()`, `bus.emit`), ' +
      '`@EventsHandler` classes and event classes for `@nestjs/cqrs` (`CqrsModule.forRoot()`, ' +
      '`eventBus.publish`). `eventemitter2` runs with `wildcard: true`.',
    '',
    'Method: per case, each library runs in a process of its own (nestjs-events enables an ' +
      "`AsyncLocalStorage`, and Node's promise hooks with it, which would tax every promise of a " +
      'peer sharing the process), is checked to reach exactly its listeners, warmed up ' +
      `(${WARMUP_MS} ms), then measured in ${ROUNDS} rounds of about ${ROUND_MS} ms; the ` +
      'processes take turns round by round, with a forced GC before each round. This is done ' +
      `${PROCESSES} times, each time in fresh processes. Sync emits run in batches ` +
      `of ${BATCH}, each followed by a wait for the next macrotask, so the promises and ` +
      'microtasks a library leaves behind are paid inside the measurement; async cases await ' +
      'each emit. "ns / emit" is the median of the per-process medians (each listed under "per ' +
      'process"); "spread" is half their range relative to it.',
    '',
    'The row "`@nestjs/event-emitter` (wildcard), app with an `AsyncLocalStorage`" is the ' +
      'wildcard row again, with an `AsyncLocalStorage` enabled in its process, as in apps using ' +
      'nestjs-cls or OpenTelemetry: on Node 20 that makes every promise dearer. nestjs-events ' +
      'always pays for one (it carries correlation and causation ids), so that row compares on ' +
      'equal footing; the targets are judged against the row without it.' +
      (QUICK ? '\n\n**Quick run (BENCH_QUICK=1): too short to trust the numbers.**' : ''),
    '',
    summarySection(all),
    '',
    targetsSection(all),
    '',
    metricsCostSection(all),
    '',
    ...CASES.flatMap((c) => [caseSection(c, all.get(c.id)), '']),
  ];
  process.stdout.write(`${out.join('\n').trimEnd()}\n`);
}

if (process.argv[2] === '--worker') {
  worker(process.argv[3], process.argv[4]).catch((error) => {
    process.send({ type: 'error', message: String(error?.stack ?? error) }, () => process.exit(1));
  });
} else {
  main().then(
    () => process.exit(0),
    (error) => {
      process.stderr.write(`${error?.stack ?? error}\n`);
      process.exit(1);
    },
  );
}
