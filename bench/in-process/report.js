// The in-process bench's report: number formats, the summary against each peer, the targets
// table, the cost of metrics and one table per case, put together into the markdown section.
import { BATCH, CASES, PROCESSES, QUICK, ROUND_MS, ROUNDS, WARMUP_MS, log } from './cases.js';
import { SUBJECTS } from './subjects.js';

// ---------------------------------------------------------------------------------------------
// Report.

export const fmtNs = (ns) => (ns >= 100 ? Math.round(ns).toLocaleString('en-US') : ns.toFixed(1));
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
    const floor = get(caseId, c.isAsync ? 'floorAlsContract' : 'floorContract');
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
      '"floor: what every emit of ours must do" rows), for async cases what every awaited emit ' +
      'of ours must do (the "floor: what every awaited emit of ours must do" rows: the listeners ' +
      'called in an `AsyncLocalStorage` context, with the clock read, the payload check and the ' +
      'context read). A target that allows less than its floor cannot be met without dropping ' +
      'part of the contract.',
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

/** The markdown section of a full run: `all` maps each case id to its results by library. */
export function report(all) {
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
      'peer sharing the process), is checked to reach exactly its listeners, does what a ' +
      "server's process has done (promises made in a timer, an immediate, a tick, a file read " +
      'and a TCP connection: `in-process/server-like.js`), is warmed up ' +
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
  return out.join('\n').trimEnd();
}
