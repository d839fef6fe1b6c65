// The payload serializer: what a queued job's payload costs to write and read back (format 2,
// devalue) against plain JSON, the per-emit payload check, and what that check adds to an
// in-process emit (the hot path).
//
// Run it through `npm run bench` (it builds `dist/` first), or alone after a build:
//   node --expose-gc bench/serializer.bench.js
// It prints one markdown section on stdout and its progress on stderr.
// BENCH_QUICK=1 runs few, short rounds: a smoke test, not a measurement.
import 'reflect-metadata';
import { Buffer } from 'node:buffer';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { parse as devalueParse, stringify as devalueStringify } from 'devalue';
import { EventBus, EventsModule, OnEvent } from '../dist/index.js';
import {
  assertSerializable,
  deserializeEnvelope,
  serializeEnvelope,
} from '../dist/event/event.serializer.js';

const QUICK = process.env.BENCH_QUICK === '1';
const ROUND_MS = QUICK ? 10 : 60;
const ROUNDS = QUICK ? 3 : 11;
const WARMUP_MS = QUICK ? 30 : 300;

const gc = globalThis.gc;
if (typeof gc !== 'function') throw new Error('run with --expose-gc (npm run bench does)');
const log = (message) => process.stderr.write(`[serializer] ${message}\n`);

/** A typical order event: ids, amounts, a date, three lines, tags, an absent field. */
function order(placedAt) {
  return {
    id: 'o-1042',
    customerId: 'c-77',
    total: 129.9,
    currency: 'EUR',
    placedAt,
    lines: [
      { sku: 'A-1', quantity: 2, price: 19.95 },
      { sku: 'B-7', quantity: 1, price: 60 },
      { sku: 'C-3', quantity: 3, price: 10 },
    ],
    tags: ['vip', 'eu'],
    coupon: undefined,
  };
}
const PLACED = new Date(Date.UTC(2024, 5, 10, 8, 30));
const TYPED = order(PLACED);
// What plain JSON can carry of the same order (its way: the date as text, no undefined field).
const JSON_SAFE = JSON.parse(JSON.stringify(order(PLACED.toISOString())));
const RICH = {
  ...order(PLACED),
  amountMinor: 12990n,
  byWarehouse: new Map([
    ['par', ['A-1']],
    ['lyo', ['B-7', 'C-3']],
  ]),
  flags: new Set(['gift', 'express']),
};
const envelope = (data) => ({
  id: '01J0B2C3D4E5F6G7H8J9K0M1N2',
  name: 'order.placed',
  data,
  metadata: { correlationId: '01J0B2C3D4E5F6G7H8J9K0M1N2' },
  timestamp: 1_718_000_000_000,
});
const noClasses = () => undefined;
const MiB = 1024 * 1024;

let sink = 0;
/** ns per call of `fn`, median of the rounds, after a warm-up. */
function measure(fn) {
  const runFor = (ms) => {
    let n = 0;
    const end = process.hrtime.bigint() + BigInt(ms * 1e6);
    const start = process.hrtime.bigint();
    let now = start;
    while (now < end) {
      for (let i = 0; i < 100; i++) fn();
      n += 100;
      now = process.hrtime.bigint();
    }
    return Number(now - start) / n;
  };
  runFor(WARMUP_MS);
  const samples = [];
  for (let r = 0; r < ROUNDS; r++) {
    gc();
    samples.push(runFor(ROUND_MS));
  }
  samples.sort((a, b) => a - b);
  return { ns: samples[samples.length >> 1], best: samples[0] };
}

const cases = [
  {
    label: 'plain JSON (`JSON.stringify` + `JSON.parse` of the envelope), order',
    fn: () => (sink += JSON.parse(JSON.stringify(envelope(JSON_SAFE))).timestamp),
  },
  {
    label: 'devalue alone (`stringify` + `parse` of the data), order',
    fn: () => (sink += devalueParse(devalueStringify(TYPED)).total),
  },
  {
    label: 'nestjs-events format 2, order with its date as text (written as plain JSON)',
    fn: () =>
      (sink += deserializeEnvelope(
        serializeEnvelope(envelope(JSON_SAFE), MiB),
        noClasses,
      ).timestamp),
  },
  {
    label: 'nestjs-events format 2 (`serializeEnvelope` + `deserializeEnvelope`), order',
    fn: () =>
      (sink += deserializeEnvelope(serializeEnvelope(envelope(TYPED), MiB), noClasses).timestamp),
  },
  {
    label: 'nestjs-events format 2, order with BigInt, Map, Set',
    fn: () =>
      (sink += deserializeEnvelope(serializeEnvelope(envelope(RICH), MiB), noClasses).timestamp),
  },
  {
    label: '`assertSerializable` alone (the check every emit runs), order',
    fn: () => (assertSerializable('order.placed', TYPED), sink++),
  },
  {
    label: '`assertSerializable` alone, `{ id, total }`',
    fn: () => (assertSerializable('order.placed', { id: 'o1', total: 42 }), sink++),
  },
];

class Counter {
  n = 0;
  count() {
    this.n++;
  }
}
Injectable()(Counter);
OnEvent('order.placed')(
  Counter.prototype,
  'count',
  Object.getOwnPropertyDescriptor(Counter.prototype, 'count'),
);
class AppModule {}
Module({ imports: [EventsModule.forRoot({ worker: false })], providers: [Counter] })(AppModule);

async function emitCases() {
  const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
  const bus = app.get(EventBus);
  const small = { id: 'o1', total: 42 };
  const result = [
    ['`bus.emit`, one sync listener, `{ id, total }`', () => bus.emit('order.placed', small)],
    [
      '`bus.emit` marked `inProcessOnly` (no check), `{ id, total }`',
      () => bus.emit('order.placed', small, { inProcessOnly: true }),
    ],
    ['`bus.emit`, one sync listener, order', () => bus.emit('order.placed', TYPED)],
    [
      '`bus.emit` marked `inProcessOnly` (no check), order',
      () => bus.emit('order.placed', TYPED, { inProcessOnly: true }),
    ],
  ].map(([label, fn]) => {
    log(label);
    return { label, ...measure(fn) };
  });
  await app.close();
  return result;
}

const rows = [];
for (const c of cases) {
  log(c.label);
  rows.push({ label: c.label, ...measure(c.fn) });
}
const emits = await emitCases();
const base = rows[0].ns;
const fmtRate = (ns) => {
  const rate = 1e9 / ns;
  return rate >= 1e6 ? `${(rate / 1e6).toFixed(2)} M` : `${(rate / 1e3).toFixed(0)} k`;
};
const bytes = (data) => Buffer.byteLength(serializeEnvelope(envelope(data), MiB));
const out = [
  '## Payload serializer',
  '',
  `Node ${process.version}. Median of ${ROUNDS} rounds of ${ROUND_MS} ms after a ${WARMUP_MS} ms ` +
    'warm-up, in one process. "order" is an order event (ids, amounts, a `Date`, three lines, tags, ' +
    `an \`undefined\` field): ${bytes(TYPED)} bytes in format 2 (devalue), ` +
    `${Buffer.byteLength(JSON.stringify(envelope(JSON_SAFE)))} bytes as plain JSON.`,
  '',
  '| write + read back | ns / op (median) | ops / s | vs plain JSON | best round (ns) |',
  '|---|--:|--:|--:|--:|',
  ...rows.map(
    (r) =>
      `| ${r.label} | ${Math.round(r.ns)} | ${fmtRate(r.ns)} | ${(r.ns / base).toFixed(2)}× | ` +
      `${Math.round(r.best)} |`,
  ),
  '',
  'The check on the hot path (an app without Redis, one sync in-process listener):',
  '',
  '| emit | ns / emit (median) | emits / s | best round (ns) |',
  '|---|--:|--:|--:|',
  ...emits.map(
    (r) => `| ${r.label} | ${Math.round(r.ns)} | ${fmtRate(r.ns)} | ${Math.round(r.best)} |`,
  ),
];
process.stdout.write(`${out.join('\n')}\n`);
if (sink === -1) log('unreachable');
