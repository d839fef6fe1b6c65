import { MissingPeerDependencyError } from '../errors/missing-peer.error.js';

type Microservices = typeof import('@nestjs/microservices');

/**
 * `@nestjs/microservices` is an optional peer: the library's entry point loads without it, and
 * `EventsServer` / `EventsClient` explain what to install when they are used without it.
 */
async function load(): Promise<Pick<Microservices, 'Server' | 'ClientProxy' | 'BaseRpcContext'>> {
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
    } as unknown as Pick<Microservices, 'Server' | 'ClientProxy' | 'BaseRpcContext'>;
  }
}

export const { Server, ClientProxy, BaseRpcContext } = await load();
