import { MissingPeerDependencyError } from '../../errors/missing-peer.error.js';

/** The `pg` module, as the PostgreSQL event store uses it. */
export type PgModule = typeof import('pg');

/**
 * Loads the optional `pg` package: the one place that imports it (at run time), so an app that
 * does not configure PostgreSQL never needs it.
 *
 * @throws MissingPeerDependencyError naming `pg` when it is not installed.
 */
export async function loadPg(
  feature = 'The PostgreSQL event store (store.postgres)',
): Promise<PgModule> {
  try {
    const loaded = (await import('pg')) as PgModule & { default?: PgModule };
    return loaded.default ?? loaded;
  } catch (error) {
    throw new MissingPeerDependencyError(feature, 'pg', { cause: error });
  }
}
