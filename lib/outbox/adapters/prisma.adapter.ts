import type { OutboxQuery } from '../outbox-transaction.js';
import type { TransactionClientAdapter } from '../transaction-clients.js';

// Prisma is an optional peer, reached only through the clients the app hands over: typed
// structurally here, never imported.

interface PrismaRaw {
  $queryRawUnsafe(query: string, ...values: unknown[]): Promise<unknown>;
}

interface PrismaClientLike extends PrismaRaw {
  $transaction(run: (tx: PrismaRaw) => Promise<unknown>): Promise<unknown>;
  $connect(): Promise<void>;
}

/** The root client: a transaction's client has no `$connect` (nor `$disconnect`, `$on`). */
function isRoot(handle: object): handle is PrismaClientLike {
  const h = handle as Partial<PrismaClientLike>;
  return typeof h.$transaction === 'function' && typeof h.$connect === 'function';
}

function isRaw(handle: object): handle is PrismaRaw {
  return typeof (handle as Partial<PrismaRaw>).$queryRawUnsafe === 'function';
}

/**
 * Prisma (with the `pg` driver adapter or its own engine, on PostgreSQL): the client of an
 * interactive transaction (`prisma.$transaction(async (tx) => ...)`) as the `transaction` emit option; a `PrismaClient` to start one with
 * `EventOutbox.transaction(prisma, async (tx) => ...)`.
 */
export const prismaAdapter: TransactionClientAdapter = {
  description: 'a Prisma interactive transaction client (the tx of prisma.$transaction)',
  matches: (handle) => isRaw(handle) && !isRoot(handle),
  queryOf(handle): OutboxQuery {
    const tx = handle as PrismaRaw;
    return (text, values = []) =>
      tx.$queryRawUnsafe(text, ...values).then((rows) => (Array.isArray(rows) ? rows : []));
  },
  starts: (handle) =>
    isRaw(handle) && typeof (handle as PrismaClientLike).$transaction === 'function',
  run: (handle, fn) => (handle as PrismaClientLike).$transaction((tx) => fn(tx)),
};
