import type { ModuleMetadata, Type } from '@nestjs/common';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { assertName } from '../option-assertions.js';
import type { BroadcastHandshake } from './socket-io.peer.js';

export type { BroadcastHandshake };

/**
 * Tells who connects: a provider whose `authenticate(handshake)` returns the user, or `null` for
 * an anonymous client (who may still listen on public channels). A throw counts as `null`.
 */
export interface BroadcastAuthenticator<U = unknown> {
  authenticate(handshake: BroadcastHandshake): U | null | Promise<U | null>;
}

/** CORS of the socket.io endpoint (socket.io's own `cors` option). */
export interface BroadcastCorsOptions {
  readonly origin?: boolean | string | readonly string[];
  readonly credentials?: boolean;
}

/** Options of `EventsBroadcastingModule.forRoot`. */
export interface EventsBroadcastingOptions {
  /** The provider that authenticates each connection (added to the module's providers). */
  authenticator: Type<BroadcastAuthenticator>;
  /** Modules the authenticator's dependencies come from. @default [] */
  imports?: ModuleMetadata['imports'];
  /** The socket.io endpoint on the application's HTTP server. @default '/socket.io' */
  path?: string;
  /** CORS of the endpoint; off (same origin only) unless given. @default undefined */
  cors?: BroadcastCorsOptions;
  /** The queue of queued broadcasts (one job per broadcast event). @default 'broadcasts' */
  queue?: string;
}

export interface ResolvedBroadcastingOptions {
  readonly authenticator: Type<BroadcastAuthenticator>;
  readonly path: string;
  readonly cors: BroadcastCorsOptions | undefined;
  readonly queue: string;
}

/** Defaults and checks of `forRoot`'s options (pure). */
export function resolveBroadcastingOptions(
  options: EventsBroadcastingOptions,
): ResolvedBroadcastingOptions {
  const { authenticator, path = '/socket.io', cors, queue = 'broadcasts' } = options ?? {};
  if (typeof authenticator !== 'function') {
    throw new InvalidOptionError(
      'broadcasting.authenticator',
      authenticator,
      'a provider class with authenticate(handshake)',
    );
  }
  if (typeof path !== 'string' || !/^\/[A-Za-z0-9._~/-]*$/.test(path)) {
    throw new InvalidOptionError('broadcasting.path', path, 'a URL path starting with "/"');
  }
  if (cors !== undefined && (cors === null || typeof cors !== 'object')) {
    throw new InvalidOptionError('broadcasting.cors', cors, '{ origin?, credentials? }');
  }
  assertName('broadcasting.queue', queue);
  return { authenticator, path, cors, queue };
}
