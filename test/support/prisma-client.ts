import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const output = `${root}node_modules/.cache/nestjs-events-prisma`;
const schema = 'test/fixtures/prisma/schema.prisma';

/** No client yet, or one generated from an older schema. */
const isStale = () =>
  !existsSync(`${output}/index.js`) ||
  statSync(`${output}/index.js`).mtimeMs < statSync(`${root}${schema}`).mtimeMs;

/** What the tests use of a generated `PrismaClient`. */
export interface TestPrismaClient {
  $transaction<R>(fn: (tx: TestPrismaTx) => Promise<R>): Promise<R>;
  $queryRawUnsafe<R = unknown>(query: string, ...values: unknown[]): Promise<R>;
  $disconnect(): Promise<void>;
  order: { findMany(): Promise<{ id: string }[]> };
}

/** The client of an interactive transaction. */
export interface TestPrismaTx {
  order: { create(args: { data: { id: string } }): Promise<unknown> };
  $queryRawUnsafe<R = unknown>(query: string, ...values: unknown[]): Promise<R>;
}

/**
 * A Prisma 7 client of test/fixtures/prisma/schema.prisma on `url`, through the `pg` driver
 * adapter. The client is generated on first use. `prisma generate` does not run the schema engine,
 * but the CLI insists on downloading it, which this closed network refuses: pointing
 * PRISMA_SCHEMA_ENGINE_BINARY at a stand-in skips the download.
 */
export async function createPrismaClient(url: string): Promise<TestPrismaClient> {
  if (isStale()) {
    const generated = spawnSync(
      process.execPath,
      [`${root}node_modules/prisma/build/index.js`, 'generate', '--schema', schema],
      {
        cwd: root,
        env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: '/bin/true' },
        encoding: 'utf8',
      },
    );
    if (generated.status !== 0) {
      throw new Error(`prisma generate failed:\n${generated.stdout}\n${generated.stderr}`);
    }
  }
  const require = createRequire(import.meta.url);
  const { PrismaClient } = require(output) as {
    PrismaClient: new (options: { adapter: unknown }) => TestPrismaClient;
  };
  const { PrismaPg } = await import('@prisma/adapter-pg');
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: url }) });
}
