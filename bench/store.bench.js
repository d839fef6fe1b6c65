// Event store benchmark on PostgreSQL (and the in-memory store for scale): appends per second,
// one event per call and in batches, sequential and from parallel writers; read throughput of
// readAll and readStream; and what `store.record` adds to `emit`. It creates its own database on
// the local server and drops it at the end. Prints a markdown section on stdout, progress on stderr.
//
//   npm run build && node --expose-gc bench/store.bench.js      (BENCH_QUICK=1 for a smoke run)
//   BENCH_POSTGRES_URL=postgres://user@host:5432/postgres       admin connection (default: local)
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { URL } from 'node:url';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { adminClient } from './postgres-admin.js';
import { EventBus, EventsModule, MemoryEventStore, PostgresEventStore } from '../dist/index.js';

const QUICK = process.env.BENCH_QUICK === '1';
const SINGLE = QUICK ? 300 : 3000;
const PARALLEL_WRITERS = 16;
const BATCH = 100;
const BATCHES = QUICK ? 20 : 300;
const READ_EVENTS = QUICK ? 10_000 : 100_000;
const EMITS = QUICK ? 300 : 3000;
const PAYLOAD = {
  orderId: 'o-123456',
  customer: 'c-42',
  total: 129.9,
  lines: [{ sku: 'a', qty: 2 }],
};
const log = (message) => process.stderr.write(`[store.bench] ${message}\n`);

let serverVersion = 'unknown';

async function withDatabase(fn) {
  const { client, url } = await adminClient();
  const name = `nestjs_events_bench_${randomBytes(4).toString('hex')}`;
  await client.query(`CREATE DATABASE "${name}"`);
  serverVersion = (await client.query('SHOW server_version')).rows[0].server_version;
  const dbUrl = new URL(url);
  dbUrl.pathname = `/${name}`;
  try {
    return await fn(dbUrl.toString());
  } finally {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await client.end();
  }
}

const rate = (count, ms) => Math.round((count * 1000) / ms);
const fmt = (n) => n.toLocaleString('en-US');

async function timed(fn) {
  const start = performance.now();
  const count = await fn();
  return { count, ms: performance.now() - start };
}

async function appendBenches(store, label) {
  const rows = [];
  let r = await timed(async () => {
    for (let i = 0; i < SINGLE; i++) {
      await store.append(`single-${i % 50}`, { name: 'order.placed', data: PAYLOAD });
    }
    return SINGLE;
  });
  rows.push([label, 'append, 1 event per call, 1 writer', r.count, rate(r.count, r.ms)]);
  log(`${label}: single ${rate(r.count, r.ms)}/s`);

  r = await timed(async () => {
    await Promise.all(
      Array.from({ length: PARALLEL_WRITERS }, async (_, w) => {
        for (let i = 0; i < SINGLE / PARALLEL_WRITERS; i++) {
          await store.append(`writer-${w}`, { name: 'order.placed', data: PAYLOAD });
        }
      }),
    );
    return SINGLE;
  });
  rows.push([
    label,
    `append, 1 event per call, ${PARALLEL_WRITERS} parallel writers`,
    r.count,
    rate(r.count, r.ms),
  ]);
  log(`${label}: parallel ${rate(r.count, r.ms)}/s`);

  const batch = Array.from({ length: BATCH }, () => ({ name: 'order.item.added', data: PAYLOAD }));
  r = await timed(async () => {
    for (let i = 0; i < BATCHES; i++) await store.append(`batch-${i % 20}`, batch);
    return BATCHES * BATCH;
  });
  rows.push([label, `append, ${BATCH} events per call`, r.count, rate(r.count, r.ms)]);
  log(`${label}: batched ${rate(r.count, r.ms)}/s`);
  return rows;
}

async function readBenches(store, label) {
  const rows = [];
  const batch = Array.from({ length: 1000 }, (_, i) => ({
    name: 'bulk.item',
    data: { i, ...PAYLOAD },
  }));
  const head = await store.headPosition();
  for (let i = 0; i < READ_EVENTS / 1000; i++) await store.append('bulk', batch);
  let r = await timed(async () => {
    let n = 0;
    for await (const _ of store.readAll({ fromPosition: head + 1 })) n++;
    return n;
  });
  rows.push([label, `readAll (page ${store.pageSize})`, r.count, rate(r.count, r.ms)]);
  log(`${label}: readAll ${rate(r.count, r.ms)}/s`);
  r = await timed(async () => {
    let n = 0;
    for await (const _ of store.readStream('bulk')) n++;
    return n;
  });
  rows.push([label, `readStream (page ${store.pageSize})`, r.count, rate(r.count, r.ms)]);
  r = await timed(async () => {
    let n = 0;
    for await (const _ of store.readAll({ fromPosition: head + 1, pattern: 'bulk.*' })) n++;
    return n;
  });
  rows.push([label, `readAll with pattern 'bulk.*'`, r.count, rate(r.count, r.ms)]);
  return rows;
}

async function emitBench(store) {
  const rows = [];
  for (const [label, storeOptions] of [
    ['emit, no recording', undefined],
    ['emit, record: true (memory)', { record: true }],
    ['emit, record: true (PostgreSQL)', store],
  ]) {
    class AppModule {}
    Module({ imports: [EventsModule.forRoot({ store: storeOptions, worker: false })] })(AppModule);
    const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
    const bus = app.get(EventBus);
    const r = await timed(async () => {
      const pending = [];
      for (let i = 0; i < EMITS; i++) {
        pending.push(bus.emit('order.placed', PAYLOAD, { metadata: { streamId: `o-${i % 100}` } }));
      }
      await Promise.all(pending);
      return EMITS;
    });
    rows.push(['bus', label, r.count, rate(r.count, r.ms)]);
    log(`${label}: ${rate(r.count, r.ms)}/s`);
    await app.close();
  }
  return rows;
}

const rows = [];
rows.push(...(await appendBenches(new MemoryEventStore(), 'memory')));
await withDatabase(async (url) => {
  const store = new PostgresEventStore({ connectionString: url, poolSize: PARALLEL_WRITERS });
  await store.migrate();
  rows.push(...(await appendBenches(store, 'PostgreSQL')));
  rows.push(...(await readBenches(store, 'PostgreSQL')));
  await store.close();
  rows.push(
    ...(await emitBench({ record: true, postgres: { connectionString: url, schema: 'emits' } })),
  );
});

process.stdout.write(
  [
    '## Event store',
    '',
    `PostgreSQL ${serverVersion} on the local machine (loopback, default configuration, fsync on); ` +
      `payload ~${JSON.stringify(PAYLOAD).length} bytes of JSON. One run${QUICK ? ' (BENCH_QUICK: smoke numbers)' : ''}.`,
    '',
    '| backend | operation | events | events/s |',
    '|---|---|---:|---:|',
    ...rows.map(
      ([backend, op, count, perSecond]) =>
        `| ${backend} | ${op} | ${fmt(count)} | ${fmt(perSecond)} |`,
    ),
    '',
    'Appends on PostgreSQL are serialized by the lock on the head row (gapless positions that commit in',
    'order), so parallel writers share one commit at a time: batch events per call for throughput.',
    'Recorded emits are appended one after the other in emit order (one round trip each).',
    '',
  ].join('\n'),
);
