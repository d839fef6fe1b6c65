import { runBatchContract } from './batch.contract.js';
import { runDeadTagsContract } from './dead-tags.contract.js';
import { runFlowRemovalContract } from './flow-removal.contract.js';
import { runPriorityContract } from './priority.contract.js';
import { runEmitManyContract } from './emit-many.contract.js';
import { runEventQueuesContract } from './event-queues.contract.js';
import { runQueueContract } from './queue-transport.contract.js';
import { runGroupContract } from './queue-groups.contract.js';
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

let inspected: RedisServer;
runEventQueuesContract({
  name: 'redis',
  beforeAll: async () => {
    inspected = await startRedisServer();
  },
  afterAll: async () => {
    await inspected?.stop();
  },
  options: () => ({ redis: inspected.url, prefix: `queues-${process.pid}-${++seq}` }),
});

let bulk: RedisServer;
runEmitManyContract({
  name: 'redis',
  beforeAll: async () => {
    bulk = await startRedisServer();
  },
  afterAll: async () => {
    await bulk?.stop();
  },
  options: () => ({ redis: bulk.url, prefix: `bulk-${process.pid}-${++seq}` }),
});

let grouped: RedisServer;
runGroupContract({
  name: 'redis',
  beforeAll: async () => {
    grouped = await startRedisServer();
  },
  afterAll: async () => {
    await grouped?.stop();
  },
  options: () => ({ redis: grouped.url, prefix: `groups-${process.pid}-${++seq}` }),
});

let tagged: RedisServer;
runDeadTagsContract({
  name: 'redis',
  beforeAll: async () => {
    tagged = await startRedisServer();
  },
  afterAll: async () => {
    await tagged?.stop();
  },
  options: () => ({ redis: tagged.url, prefix: `tags-${process.pid}-${++seq}` }),
});
let flow: RedisServer;
runFlowRemovalContract({
  name: 'redis',
  beforeAll: async () => {
    flow = await startRedisServer();
  },
  afterAll: async () => {
    await flow?.stop();
  },
  options: () => ({ redis: flow.url, prefix: `flow-${process.pid}-${++seq}` }),
});

let prioritized: RedisServer;
runPriorityContract({
  name: 'redis',
  beforeAll: async () => {
    prioritized = await startRedisServer();
  },
  afterAll: async () => {
    await prioritized?.stop();
  },
  options: () => ({ redis: prioritized.url, prefix: `prio-${process.pid}-${++seq}` }),
});

let batched: RedisServer;
runBatchContract({
  name: 'redis',
  beforeAll: async () => {
    batched = await startRedisServer();
  },
  afterAll: async () => {
    await batched?.stop();
  },
  options: () => ({ redis: batched.url, prefix: `batch-${process.pid}-${++seq}` }),
});
