// One variant of the outbox benchmark, in its own process (see bench/outbox.bench.js):
//   floor    BEGIN; INSERT order; COMMIT                      (no event)
//   outbox   the same in EventOutbox.transaction + bus.emit   (one queued listener)
//   bullmq   the same, then BullMQ queue.add() after COMMIT   (the usual, non-atomic pattern)
// Env: VARIANT, DATABASE_URL, REDIS_PORT, COUNT, WRITERS, ROUND (names its tables, queue and
// prefix, so that rounds start alike). Prints one JSON line on stdout:
// { rate, p50, p99 } (transactions/s, commit-to-handler-start ms; no latency for the floor).
import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import pg from 'pg';

const { VARIANT, DATABASE_URL, REDIS_PORT } = process.env;
const COUNT = Number(process.env.COUNT);
const WRITERS = Number(process.env.WRITERS);
const ROUND = process.env.ROUND ?? '0';
const table = `orders_${VARIANT}_${ROUND}`;
const queueName = `bench-orders-${ROUND}`;
const commitAt = new Map();
const startAt = new Map();
let handled = 0;
let allHandled;
const done = new Promise((resolve) => (allHandled = resolve));
const onHandlerStart = (id) => {
  startAt.set(id, performance.now());
  if (++handled === COUNT) allHandled();
};

/** A pool whose clients note when each COMMIT returned, for the transaction's event id. */
function timedPool() {
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: WRITERS + 4 });
  const connect = pool.connect.bind(pool);
  pool.connect = (callback) => {
    if (callback) return connect(callback);
    return connect().then((client) => {
      if (!client.benchPatched) {
        client.benchPatched = true;
        const query = client.query.bind(client);
        client.query = (text, ...rest) => {
          const result = query(text, ...rest);
          // The outbox commits a transaction with its rows: `INSERT ...; COMMIT`.
          if (typeof text !== 'string' || !/^(INSERT .*; )?COMMIT$/s.test(text)) return result;
          return result.then((value) => {
            if (client.benchEvent !== undefined) commitAt.set(client.benchEvent, performance.now());
            client.benchEvent = undefined;
            return value;
          });
        };
      }
      return client;
    });
  };
  return pool;
}

/** BEGIN; INSERT the order; COMMIT (the event id noted for the commit's time when given). */
async function insertOrder(pool, i, eventId) {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`INSERT INTO ${table} (id, total) VALUES ($1, $2)`, [`o${i}`, i]);
    client.benchEvent = eventId;
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}

async function lanes(run) {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      while (next < COUNT) await run(next++);
    }),
  );
  return performance.now() - start;
}

async function floor() {
  const pool = timedPool();
  await pool.query(`CREATE TABLE ${table} (id text PRIMARY KEY, total int)`);
  const ms = await lanes((i) => insertOrder(pool, i, undefined));
  await pool.end();
  return { ms };
}

async function outbox() {
  const lib = await import('../dist/index.js');
  const { EventsModule, EventBus, EventOutbox, OnEvent, ShouldQueue } = lib;
  class Handler {
    handle(event) {
      onHandlerStart(event.data.id);
    }
  }
  const method = Object.getOwnPropertyDescriptor(Handler.prototype, 'handle');
  ShouldQueue({ queue: queueName })(Handler.prototype, 'handle', method);
  OnEvent('order.created')(Handler.prototype, 'handle', method);
  Reflect.defineMetadata('design:paramtypes', [], Handler);
  Injectable()(Handler);
  const pool = timedPool();
  await pool.query(`CREATE TABLE ${table} (id text PRIMARY KEY, total int)`);
  class AppModule {}
  Module({
    imports: [
      EventsModule.forRoot({
        redis: `redis://127.0.0.1:${REDIS_PORT}`,
        prefix: `bench-outbox-${ROUND}`,
        worker: { concurrency: 16 },
        outbox: { connection: pool, table: `events_outbox_${ROUND}` },
      }),
    ],
    providers: [Handler],
  })(AppModule);
  const app = await NestFactory.createApplicationContext(AppModule, { logger: ['error'] });
  const bus = app.get(EventBus);
  const box = app.get(EventOutbox);
  const ms = await lanes((i) =>
    box.transaction(async (client) => {
      await client.query(`INSERT INTO ${table} (id, total) VALUES ($1, $2)`, [`o${i}`, i]);
      await bus.emit('order.created', { id: `o${i}` });
      client.benchEvent = `o${i}`;
    }),
  );
  await done;
  await app.close();
  await pool.end();
  return { ms };
}

async function bullmq() {
  const { Queue, Worker } = await import('bullmq');
  const connection = { host: '127.0.0.1', port: Number(REDIS_PORT), maxRetriesPerRequest: null };
  const queue = new Queue(queueName, { connection });
  const worker = new Worker(queueName, async (job) => onHandlerStart(job.data.id), {
    connection,
    concurrency: 16,
  });
  await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()]);
  const pool = timedPool();
  await pool.query(`CREATE TABLE ${table} (id text PRIMARY KEY, total int)`);
  const ms = await lanes(async (i) => {
    await insertOrder(pool, i, `o${i}`);
    await queue.add('order.created', { id: `o${i}` }, { removeOnComplete: true });
  });
  await done;
  await worker.close();
  await queue.close();
  await pool.end();
  return { ms };
}

const variants = { floor, outbox, bullmq };
const { ms } = await variants[VARIANT]();
const latencies = [...startAt].map(([id, at]) => at - commitAt.get(id)).filter(Number.isFinite);
latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))];
process.stdout.write(
  `${JSON.stringify({
    rate: Math.round((COUNT * 1000) / ms),
    p50: latencies.length ? pct(0.5) : null,
    p99: latencies.length ? pct(0.99) : null,
  })}\n`,
);
process.exit(0);
