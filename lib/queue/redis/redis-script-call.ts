import { createHash } from 'node:crypto';
import type { RedisClient } from '../../redis/redis-connection.factory.js';

/** A Lua script as `defineCommand` takes it (no `numberOfKeys`: the caller passes the count first). */
export interface ScriptDefinition {
  readonly lua: string;
  readonly numberOfKeys?: number;
}

type Call = (...args: unknown[]) => Promise<unknown>;
type Callable = Record<string, unknown> & {
  readonly isPipeline?: boolean;
  /** A standalone client's socket (a cluster client has one per node, none here). */
  readonly stream?: unknown;
  evalsha(...args: unknown[]): Promise<unknown>;
  eval(...args: unknown[]): Promise<unknown>;
};

/** Whether Redis answered that it does not have the script (restart, `SCRIPT FLUSH`, new node). */
function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/**
 * Defines `name` on `client` as a plain ioredis command: EVAL the first time on a connection,
 * EVALSHA after (EVAL again when Redis answers NOSCRIPT), as ioredis's own script commands do.
 * Those (`defineCommand`) wrap each call's reject in a closure and its promise in a `catch` of
 * their own; under steady load that pair made a worker promote ~0.5 KB per job out of the young
 * generation (scavenges 3-4x longer than BullMQ's, issue 15), which a plain command does not.
 * EVAL first matters when a reply is lost: Redis runs the script it was sent once it answers
 * again, where an EVALSHA of a script it never loaded would only fail. Pipelines and
 * transactions keep ioredis's script commands (they load scripts before they run).
 */
export function defineScriptCall(
  client: RedisClient,
  name: string,
  script: ScriptDefinition,
): void {
  client.defineCommand(name, script);
  const target = client as unknown as Callable;
  const viaPipeline = target[name] as Call;
  const sha = createHash('sha1').update(script.lua).digest('hex');
  const keys = script.numberOfKeys;
  // The connections (a client's socket, a new one after each reconnect) that were sent the script.
  const sentOn = new WeakSet<object>();
  target[name] = function (this: Callable, ...args: unknown[]): Promise<unknown> {
    if (this.isPipeline) return viaPipeline.apply(this, args);
    if (keys !== undefined) args.unshift(keys);
    const connection = (this.stream as object | undefined) ?? this;
    if (!sentOn.has(connection)) {
      sentOn.add(connection);
      return this.eval(script.lua, ...args);
    }
    return this.evalsha(sha, ...args).catch((error: unknown) => {
      if (!isNoScript(error)) throw error;
      return this.eval(script.lua, ...args);
    });
  };
}
