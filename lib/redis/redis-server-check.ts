import type { Logger } from '@nestjs/common';
import type { RedisClient } from './redis-client.js';

const checkedServers = new Set<string>();

function infoField(info: string, field: string): string | undefined {
  const match = new RegExp(`^${field}:(.*)$`, 'm').exec(info);
  return match?.[1].trim();
}

/**
 * Warns, once per server and process, about settings under which Redis loses jobs: an eviction
 * policy other than `noeviction`, and no persistence (neither AOF nor RDB snapshots). Never throws.
 */
export async function checkRedisServer(
  client: RedisClient,
  address: string,
  logger: Logger,
): Promise<void> {
  if (checkedServers.has(address)) return;
  checkedServers.add(address);
  try {
    const [memory, persistence] = await Promise.all([
      client.info('memory'),
      client.info('persistence'),
    ]);
    const policy = infoField(memory, 'maxmemory_policy');
    if (policy && policy !== 'noeviction') {
      logger.warn(
        `Redis ${address} has maxmemory-policy "${policy}": under memory pressure it evicts keys, jobs included. Set it to "noeviction".`,
      );
    }
    const isAof = infoField(persistence, 'aof_enabled') === '1';
    const save = await client.config('GET', 'save').then(
      (reply) => (reply as string[])[1] ?? '',
      () => 'unknown',
    );
    if (!isAof && save === '') {
      logger.warn(
        `Redis ${address} has persistence off (no AOF, no RDB snapshots): a Redis restart loses every stored job. Turn on appendonly for durable queues.`,
      );
    }
  } catch {
    // A check, not a requirement: a Redis that refuses INFO still carries jobs.
  }
}
