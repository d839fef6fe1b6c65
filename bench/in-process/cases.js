// The in-process bench's settings and cases: round lengths and process counts, the payload, the
// listener body every library shares (count the call), and the cases (the listeners registered,
// the event emitted).
export const QUICK = process.env.BENCH_QUICK === '1';
export const WARMUP_MS = QUICK ? 40 : 400;
export const ROUND_MS = QUICK ? 10 : 40;
export const ROUNDS = QUICK ? 3 : 15;
// Each library runs in this many fresh processes per case (one after the other); the table
// reports the median of their medians and the spread between them.
export const PROCESSES = Number(process.env.BENCH_PROCESSES ?? (QUICK ? 1 : 3));
// Sync emits run in batches; after each batch the bench waits for a macrotask, so the promises
// and microtasks a library leaves behind (nest's async wrappers, cqrs's RxJS handler promises,
// our emit promise) are paid for inside the measurement.
export const BATCH = 500;
export const EMIT_NAME = 'order.created';
export const PAYLOAD = { id: 'o1', total: 42 };

export const log = (message) => process.stderr.write(`[in-process] ${message}\n`);

// Every listener of every library does the same work: count the call.
export const hits = { n: 0 };
export const syncListener = () =>
  function listener() {
    hits.n++;
  };
export const asyncListener = () =>
  async function listener() {
    hits.n++;
  };

// ---------------------------------------------------------------------------------------------
// Cases: the listeners registered (one pattern each) and the event emitted, always `order.created`.

const DOMAINS = 50;
const otherExact = (i) => `d${i % DOMAINS}.e${i}`;
const otherWildcard = (i) =>
  [`d${i % DOMAINS}.e${i}.*`, `d${i % DOMAINS}.*.e${i}`, `d${i % DOMAINS}.e${i}.**`][i % 3];

export const CASES = [
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
