// One variant of the outbox benchmark, in its own process (see bench/outbox.bench.js):
//   floor    BEGIN; INSERT order; COMMIT                      (no event)
//   outbox   the same in EventOutbox.transaction + bus.emit   (one queued listener)
//   local    the same as outbox with an in-process listener   (the outbox's own cost: no queue)
//   row      the order and the outbox's row, as the outbox writes and deletes it, and nothing
//            else: no bus, no dispatch, no queue (what PostgreSQL lets any outbox of this design do)
//   bullmq   the same, then BullMQ queue.add() after COMMIT   (the usual, non-atomic pattern)
// Env: VARIANT, DATABASE_URL, REDIS_PORT, COUNT, WARMUP, WRITERS, ROUND (names its tables, queue
// and prefix, so that rounds start alike). WARMUP transactions run first, untimed: a fresh
// process spends its first seconds compiling (TurboFan threads), on the cores PostgreSQL needs,
// and a variant that loads more code (Nest, BullMQ) would pay that in its rate. Prints one JSON
// line on stdout: { rate, p50, p99, cpuNode, cpuPg, cpuRedis } (transactions/s,
// commit-to-handler-start ms, no latency for the floor; CPU µs per transaction of this process,
// of the PostgreSQL backends of the bench's database (read from /proc: a local server) and of
// the redis-server, from the first timed transaction to the last handler start).
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import pg from 'pg';
import Redis from 'ioredis';

const { VARIANT, DATABASE_URL, REDIS_PORT } = process.env;
const COUNT = Number(process.env.COUNT);
const WARMUP = Number(process.env.WARMUP ?? 0);
const WRITERS = Number(process.env.WRITERS);
const ROUND = process.env.ROUND ?? '0';
const table = `orders_${VARIANT}_${ROUND}`;
const queueName = `bench-orders-${ROUND}`;
const commitAt = new Map();
const startAt = new Map();
let handled = 0;
const waiting = [];
/** Resolves once `n` handlers started in all. */
const handledAtLeast = (n) =>
  handled >= n ? Promise.resolve() : new Promise((resolve) => waiting.push({ n, resolve }));
const onHandlerStart = (id) => {
  startAt.set(id, performance.now());
  handled++;
  for (let i = waiting.length - 1; i >= 0; i--) {
    if (handled >= waiting[i].n) waiting.splice(i, 1)[0].resolve();
  }
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

/** CPU ms of a local process from /proc (utime + stime), 0 when it cannot be read. */
function procCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}

/**
 * CPU of this process, of the PostgreSQL backends connected to the bench's database (when the
 * server is local: /proc) and of the redis-server (INFO cpu), from `start()` to `stop()`.
 */
function cpuMeter(pool) {
  const redis = new Redis({ host: '127.0.0.1', port: Number(REDIS_PORT), lazyConnect: true });
  const backends = async () => {
    const { rows } = await pool.query(
      `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
    );
    return new Map(rows.map(({ pid }) => [pid, procCpuMs(pid)]));
  };
  const redisMs = async () => {
    const info = await redis.info('cpu');
    const field = (name) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
    return (field('used_cpu_user') + field('used_cpu_sys')) * 1000;
  };
  let at;
  return {
    async start() {
      at = { node: process.cpuUsage(), pg: await backends(), redis: await redisMs() };
    },
    async stop() {
      const node = process.cpuUsage(at.node);
      const [pgNow, redisNow] = [await backends(), await redisMs()];
      let pgMs = 0;
      for (const [pid, ms] of pgNow) pgMs += ms - (at.pg.get(pid) ?? 0);
      redis.disconnect();
      return { node: (node.user + node.system) / 1000, pg: pgMs, redis: redisNow - at.redis };
    },
  };
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

/** Transactions `from` to `to` - 1 on WRITERS lanes at once; resolves to the ms they took. */
async function lanes(run, from, to) {
  let next = from;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      while (next < to) await run(next++);
    }),
  );
  return performance.now() - start;
}

/**
 * The WARMUP transactions (numbered after the timed ones) and their handlers, then the COUNT
 * timed ones; `handles` when each transaction has a handler to wait for.
 */
async function measure(pool, run, handles) {
  await lanes(run, COUNT, COUNT + WARMUP);
  if (handles) await handledAtLeast(WARMUP);
  commitAt.clear();
  startAt.clear();
  const meter = cpuMeter(pool);
  await meter.start();
  const ms = await lanes(run, 0, COUNT);
  if (handles) await handledAtLeast(WARMUP + COUNT);
  return { ms, cpu: await meter.stop() };
}

async function floor() {
  const pool = timedPool();
  await pool.query(`CREATE TABLE ${table} (id text PRIMARY KEY, total int)`);
  const result = await measure(pool, (i) => insertOrder(pool, i, undefined), false);
  await pool.end();
  return result;
}

/** The outbox variants: the listener queued (`outbox`) or in-process (`local`). */
async function outbox(isQueued) {
  const lib = await import('../dist/index.js');
  const { EventsModule, EventBus, EventOutbox, OnEvent, ShouldQueue } = lib;
  class Handler {
    handle(event) {
      onHandlerStart(event.data.id);
    }
  }
  const method = Object.getOwnPropertyDescriptor(Handler.prototype, 'handle');
  if (isQueued) ShouldQueue({ queue: queueName })(Handler.prototype, 'handle', method);
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
        prefix: `bench-${VARIANT}-${ROUND}`,
        worker: { concurrency: 16 },
        outbox: { connection: pool, table: `events_outbox_${VARIANT}_${ROUND}` },
      }),
    ],
    providers: [Handler],
  })(AppModule);
  const app = await NestFactory.createApplicationContext(AppModule, { logger: ['error'] });
  const bus = app.get(EventBus);
  const box = app.get(EventOutbox);
  const result = await measure(
    pool,
    (i) =>
      box.transaction(async (client) => {
        await client.query(`INSERT INTO ${table} (id, total) VALUES ($1, $2)`, [`o${i}`, i]);
        await bus.emit('order.created', { id: `o${i}` });
        client.benchEvent = `o${i}`;
      }),
    true,
  );
  await app.close();
  await pool.end();
  return result;
}

/**
 * The outbox's row and nothing else: the library's own statements (the row inserted by the
 * COMMIT's round trip, through `runPoolTransaction`; deleted in batches by `OutboxMarker`) on the
 * envelope an emit makes, with no bus, no Nest, no dispatch and no queue.
 */
async function rowOnly() {
  const { runPoolTransaction } = await import('../dist/outbox/pool-transaction.js');
  const { OutboxSql } = await import('../dist/outbox/outbox-sql.js');
  const { OutboxMarker, markLingerMs } = await import('../dist/outbox/outbox.marker.js');
  const { outboxMigrationSql } = await import('../dist/outbox/outbox-schema.js');
  const { serializeEnvelope } = await import('../dist/event/event.serializer.js');
  const { createEventId } = await import('../dist/event/event-id.js');
  const pool = timedPool();
  const outboxTable = `events_outbox_${VARIANT}_${ROUND}`;
  await pool.query(`CREATE TABLE ${table} (id text PRIMARY KEY, total int)`);
  await pool.query(outboxMigrationSql(outboxTable));
  const sql = new OutboxSql(outboxTable, 0);
  const marker = new OutboxMarker(
    sql,
    async (text, values) => (await pool.query(text, values)).rows,
    markLingerMs(5000),
  );
  const result = await measure(
    pool,
    async (i) => {
      const timestamp = Date.now();
      const id = createEventId(timestamp);
      const envelope = {
        id,
        name: 'order.created',
        data: { id: `o${i}` },
        metadata: { correlationId: id },
        timestamp,
      };
      const { rows } = await runPoolTransaction(pool, sql, async (tx, client) => {
        await client.query(`INSERT INTO ${table} (id, total) VALUES ($1, $2)`, [`o${i}`, i]);
        const values = [id, envelope.name, serializeEnvelope(envelope), null, 0, null, null, null];
        tx.deferred.push({ values, envelope, orderingKey: null, delayMs: 0 });
      });
      marker.mark(rows.map((row) => row.id));
    },
    false,
  );
  await marker.drain();
  await pool.end();
  return result;
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
  const result = await measure(
    pool,
    async (i) => {
      await insertOrder(pool, i, `o${i}`);
      await queue.add('order.created', { id: `o${i}` }, { removeOnComplete: true });
    },
    true,
  );
  await worker.close();
  await queue.close();
  await pool.end();
  return result;
}

const variants = {
  floor,
  outbox: () => outbox(true),
  local: () => outbox(false),
  row: rowOnly,
  bullmq,
};
const { ms, cpu } = await variants[VARIANT]();
const latencies = [...startAt].map(([id, at]) => at - commitAt.get(id)).filter(Number.isFinite);
latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))];
process.stdout.write(
  `${JSON.stringify({
    rate: Math.round((COUNT * 1000) / ms),
    p50: latencies.length ? pct(0.5) : null,
    p99: latencies.length ? pct(0.99) : null,
    cpuNode: Math.round((cpu.node * 1000) / COUNT),
    cpuPg: Math.round((cpu.pg * 1000) / COUNT),
    cpuRedis: Math.round((cpu.redis * 1000) / COUNT),
  })}\n`,
);
process.exit(0);
