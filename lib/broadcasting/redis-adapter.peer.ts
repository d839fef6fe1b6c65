import { MissingPeerDependencyError } from '../errors/missing-peer.error.js';

/** The socket.io adapter factory over two Redis connections (publish, subscribe). */
export async function createRedisAdapter(
  pubClient: unknown,
  subClient: unknown,
  key: string,
): Promise<unknown> {
  let adapter: {
    createAdapter(pub: unknown, sub: unknown, options: { key: string }): unknown;
  };
  try {
    adapter = (await import('@socket.io/redis-adapter')) as unknown as typeof adapter;
  } catch (error) {
    throw new MissingPeerDependencyError(
      'EventsBroadcastingModule with redis',
      '@socket.io/redis-adapter',
      { cause: error },
    );
  }
  return adapter.createAdapter(pubClient, subClient, { key });
}
