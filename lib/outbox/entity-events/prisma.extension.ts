import { AsyncLocalStorage } from 'node:async_hooks';
import { InvalidTransactionError } from '../../errors/invalid-transaction.error.js';
import type { EntityEventEmitter } from './entity-event.emitter.js';

// Prisma is an optional peer, reached only through the client the app hands over: a client
// extension is a plain object, typed structurally here, never imported.

type Row = Record<string, unknown>;
type Delegate = Record<string, (args: unknown) => Promise<unknown>>;
type Client = Record<string, unknown> & {
  $transaction(run: unknown, options?: unknown): Promise<unknown>;
};

/** A Prisma client, which `$extends` turns into a new client. */
export interface PrismaExtendable {
  $extends(extension: object): unknown;
  $transaction(run: unknown, options?: unknown): Promise<unknown>;
}

interface QueryParams {
  readonly model: string;
  readonly operation: string;
  readonly args: { where?: Row; data?: Row; create?: Row; update?: Row };
  readonly query: (args: unknown) => Promise<unknown>;
}

/** A model's delegate on a client: `order` for `Order`. */
const delegateOf = (client: Client, model: string) =>
  client[model.charAt(0).toLowerCase() + model.slice(1)] as Delegate;

/** Set while a `$transaction([...])` of the extended client runs its queries. */
const BATCH = Symbol('batch');

export function isPrismaClient(source: object): source is PrismaExtendable {
  const s = source as Partial<PrismaExtendable>;
  return typeof s.$extends === 'function' && typeof s.$transaction === 'function';
}

/**
 * The client extension of the entity events: every `create`, `update`, `upsert` and `delete` of a
 * model runs in an interactive transaction (its own when the query runs outside one), emits
 * `saving` / `removing` before the query and writes `saved` / `removed` through the transaction.
 */
export function extendPrismaClient<T extends PrismaExtendable>(
  prisma: T,
  emitter: EntityEventEmitter,
): T {
  /** The client of the interactive transaction the current async context runs in. */
  const current = new AsyncLocalStorage<Client | typeof BATCH>();
  const original = prisma.$transaction;

  /** The query run through the transaction's client `tx`, its events around it. */
  async function write(tx: Client, { model, operation, args, query }: QueryParams) {
    const delegate = delegateOf(tx, model);
    const found = () =>
      args.where === undefined
        ? Promise.resolve(null)
        : (delegate.findUnique({ where: args.where }) as Promise<Row | null>);
    if (operation === 'delete') {
      await emitter.before(model, 'removing', (await found()) ?? { ...args.where });
    } else if (operation === 'create') {
      await emitter.before(model, 'saving', args.data ?? {});
    } else {
      // update, upsert: the row as it will be written (its current columns, then the changes).
      const row = await found();
      const changes = operation === 'update' ? args.data : row ? args.update : args.create;
      await emitter.before(model, 'saving', { ...row, ...changes });
    }
    const result = (await query(args)) as Row;
    const id = result.id === undefined || result.id === null ? undefined : String(result.id);
    await emitter.after(model, operation === 'delete' ? 'removed' : 'saved', result, id, tx);
    return result;
  }

  const hooked = (params: QueryParams) => {
    if (!emitter.handles(params.model)) return params.query(params.args);
    const tx = current.getStore();
    if (tx === BATCH) {
      throw new InvalidTransactionError(
        'a batch $transaction([...])',
        `an interactive $transaction(async (tx) => ...) for a write of ${params.model} with entity events`,
      );
    }
    if (tx !== undefined) return write(tx, params);
    // Outside a transaction: the same query in one, so the write and its rows commit together.
    return extended.$transaction((inner: Client) =>
      delegateOf(inner, params.model)[params.operation](params.args),
    );
  };

  const extended = prisma.$extends({
    name: 'nestjs-events-entity-events',
    client: {
      // Through the original method, over the extended client: its `tx` keeps the extension.
      $transaction(this: Client, run: unknown, options?: unknown) {
        if (typeof run !== 'function') {
          return current.run(BATCH, () => original.call(this, run, options));
        }
        // Awaited inside: a Prisma query is lazy, it runs (and reads the context) once awaited.
        const inTx = (tx: Client) =>
          current.run(tx, async () => await (run as (tx: Client) => unknown)(tx));
        return original.call(this, inTx, options);
      },
    },
    query: {
      $allModels: { create: hooked, update: hooked, upsert: hooked, delete: hooked },
    },
  }) as Client;
  return extended as unknown as T;
}
