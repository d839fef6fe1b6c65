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
 */
async function load(): Promise<Loaded> {
  try {
    return await import('@nestjs/microservices');
  } catch {
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

const loaded = await load();
// Annotated with the aliases above so the declarations never name the peer directly.
export const Server: Microservices['Server'] = loaded.Server;
export const ClientProxy: Microservices['ClientProxy'] = loaded.ClientProxy;
export const BaseRpcContext: Microservices['BaseRpcContext'] = loaded.BaseRpcContext;
