import { randomBytes } from 'node:crypto';

// Crockford base32: ids sort by character code in the same order as the numbers they encode.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function encode(value: number, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) {
    out = ALPHABET[value % 32] + out;
    value = Math.floor(value / 32);
  }
  return out;
}

// Two characters per lookup: the counter costs two lookups (its low 20 bits) instead of eight
// divisions (it is encoded on every emit).
const PAIRS = Array.from({ length: 1024 }, (_, i) => ALPHABET[i >> 5] + ALPHABET[i & 31]);

// One random part per process keeps ids of two processes apart; the counter orders the ids of
// one process, also within one millisecond, without asking the clock or the RNG per id.
const processPart = Array.from(randomBytes(8), (b) => ALPHABET[b % 32]).join('');
// 2^20: the time and the counter are both handled in 20-bit pieces, two characters per 10 bits.
const PIECE = 1_048_576;
let lastMs = -1;
// The time part's first six characters (the time's bits above the low 20, which change every
// ~17 minutes) and the last millisecond's whole time part.
let timeHigh = -1;
let timeHighPart = '';
let timePart = '';
// The counter in two 20-bit halves kept as small integers: no float division or modulo per id.
let low = 0;
let high = 0;
// The process part and the counter's high half, rebuilt when that half changes.
let processAndHigh = '';
// Time, process and high counter parts joined, rebuilt only when one of them changes.
let head = '';
// `head` and the first two characters of the low part, rebuilt every 1,024 ids (and with `head`):
// an id is then one concatenation of two strings that already exist, one allocation per emit.
let headAndBlock = '';

/**
 * A new event id: 10 characters of time (ms), 8 of process identity, 8 of a per-process counter.
 * Unique across processes and sortable: a later id compares greater in the same process, and
 * ids of different milliseconds sort by time everywhere.
 */
export function createEventId(now: number = Date.now()): string {
  // The common case, kept small enough to be inlined into the emit: the millisecond of the last
  // id, inside its block of 1,024 (so neither the counter's halves nor the head change).
  if (now === lastMs && ((low + 1) & 1023) !== 0 && headAndBlock !== '') {
    low++;
    return headAndBlock + PAIRS[low & 1023];
  }
  return nextId(now);
}

/**
 * `createEventId` when the millisecond, the block or the counter's high half changes. An app
 * that emits less than once per millisecond runs it on every emit: a new millisecond costs two
 * table lookups and three joins (the time's high part is encoded again only every ~17 minutes).
 */
function nextId(now: number): string {
  // The encoder needs a whole, non-negative number of ms: a fraction would index past the alphabet.
  const ms = Number.isFinite(now) && now >= 0 ? Math.floor(now) : Date.now();
  if (++low === PIECE) {
    low = 0;
    high = (high + 1) & (PIECE - 1);
    processAndHigh = '';
  }
  if (ms > lastMs) {
    lastMs = ms;
    const lowBits = ms % PIECE;
    const highBits = (ms - lowBits) / PIECE;
    if (highBits !== timeHigh) {
      timeHigh = highBits;
      timeHighPart = encode(highBits, 6);
    }
    timePart = timeHighPart + PAIRS[lowBits >> 10] + PAIRS[lowBits & 1023];
    head = '';
  }
  if (processAndHigh === '') {
    processAndHigh = processPart + PAIRS[high >> 10] + PAIRS[high & 1023];
    head = '';
  }
  if (head === '') {
    head = timePart + processAndHigh;
    headAndBlock = '';
  }
  if (headAndBlock === '' || (low & 1023) === 0) headAndBlock = head + PAIRS[low >> 10];
  return headAndBlock + PAIRS[low & 1023];
}
