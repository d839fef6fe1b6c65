import { createRequire } from 'node:module';
import { MissingPeerDependencyError } from '../errors/missing-peer.error.js';

// `@nestjs/microservices` is an optional peer, and its types reach the public `.d.ts` files (the
// classes below are the bases of `EventsServer`, `EventsClient` and `EventsRpcContext`). Every
// reference to it goes through the aliases of this file, each under a `@ts-ignore` in a doc
// comment, which tsc keeps in the declarations: a consumer without the peer compiles with
// `skipLibCheck: false` (the aliases are `any` there) and one with it gets the real types.
// test-consumers/vitest-strict type-checks the packed tarball without the peer.
/* eslint-disable @typescript-eslint/ban-ts-comment -- @ts-expect-error would fail where the peer is installed */

/** @ts-ignore optional peer: `any` when `@nestjs/microservices` is not installed. */
export type Microservices = typeof import('@nestjs/microservices');
/** @ts-ignore optional peer: `any` when `@nestjs/microservices` is not installed. */
export type ReadPacket = import('@nestjs/microservices').ReadPacket;
/** @ts-ignore optional peer: `any` when `@nestjs/microservices` is not installed. */
export type WritePacket = import('@nestjs/microservices').WritePacket;
/** @ts-ignore optional peer: `any` when `@nestjs/microservices` is not installed. */
export type MessageHandler = import('@nestjs/microservices').MessageHandler;
/** @ts-ignore optional peer: `any` when `@nestjs/microservices` is not installed. */
export type CustomTransportStrategy = import('@nestjs/microservices').CustomTransportStrategy;

type Loaded = Pick<Microservices, 'Server' | 'ClientProxy' | 'BaseRpcContext'>;

/**
 * `@nestjs/microservices` is an optional peer: the library's entry point loads without it, and
 * `EventsServer` / `EventsClient` explain what to install when they are used without it.
 *
 * Loaded synchronously (`require` of an ES module, Node 20.19+): a top-level `await import()`
 * here would make the whole package an async module graph, which `require('nestjs-events')` (the
 * Nest CLI loading schematics) refuses with `ERR_REQUIRE_ASYNC_MODULE`. The base classes must
 * exist when `EventsServer` and `EventsClient` are defined, so a lazy load on first use cannot
 * give them.
 */
function load(): Loaded {
  try {
    return createRequire(import.meta.url)('@nestjs/microservices') as Loaded;
  } catch (error) {
    if (!isNotFound(error)) throw error;
    const missing = (what: string) =>
      class {
        constructor() {
          throw new MissingPeerDependencyError(what, '@nestjs/microservices');
        }
      };
    return {
      Server: missing('EventsServer'),
      ClientProxy: missing('EventsClient'),
      BaseRpcContext: missing('EventsRpcContext'),
    } as unknown as Loaded;
  }
}

function isNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND';
}

const loaded = load();
// Annotated with the aliases above so the declarations never name the peer directly.
export const Server: Microservices['Server'] = loaded.Server;
export const ClientProxy: Microservices['ClientProxy'] = loaded.ClientProxy;
export const BaseRpcContext: Microservices['BaseRpcContext'] = loaded.BaseRpcContext;
