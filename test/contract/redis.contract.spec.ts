import { runQueueContract } from './queue-transport.contract.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';

let server: RedisServer;
let seq = 0;

runQueueContract({
  name: 'redis',
  beforeAll: async () => {
    server = await startRedisServer();
  },
  afterAll: async () => {
    await server?.stop();
  },
  options: () => ({ redis: server.url, prefix: `contract-${process.pid}-${++seq}` }),
});
