import { runPriorityContract } from './priority.contract.js';
import { runEmitManyContract } from './emit-many.contract.js';
import { runEventQueuesContract } from './event-queues.contract.js';
import { runQueueContract } from './queue-transport.contract.js';
import { runGroupContract } from './queue-groups.contract.js';
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster.js';

let cluster: RedisCluster;
let seq = 0;

// The whole queue contract on a real three-master Redis Cluster: every script and multi-key
// command of a queue must stay in the queue's hash slot, and blocking reads must find the node
// that owns each queue's stream.
runQueueContract({
  name: 'redis cluster',
  beforeAll: async () => {
    cluster = await startRedisCluster();
  },
  afterAll: async () => {
    await cluster?.stop();
  },
  options: () => ({
    redis: { cluster: cluster.startupNodes },
    prefix: `cluster-${process.pid}-${++seq}`,
  }),
});

let inspected: RedisCluster;
// EventQueues on a cluster: listing, the dead index, pause and obliterate stay in the queue's slot.
runEventQueuesContract({
  name: 'redis cluster',
  beforeAll: async () => {
    inspected = await startRedisCluster();
  },
  afterAll: async () => {
    await inspected?.stop();
  },
  options: () => ({
    redis: { cluster: inspected.startupNodes },
    prefix: `cluster-queues-${process.pid}-${++seq}`,
  }),
});

let bulk: RedisCluster;
// emitMany on a cluster: one store script per queue (each queue is its own slot).
runEmitManyContract({
  name: 'redis cluster',
  beforeAll: async () => {
    bulk = await startRedisCluster();
  },
  afterAll: async () => {
    await bulk?.stop();
  },
  options: () => ({
    redis: { cluster: bulk.startupNodes },
    prefix: `cluster-bulk-${process.pid}-${++seq}`,
  }),
});

let grouped: RedisCluster;
// Groups on a cluster: the group scripts derive their keys from the queue's base, in its slot.
runGroupContract({
  name: 'redis cluster',
  beforeAll: async () => {
    grouped = await startRedisCluster();
  },
  afterAll: async () => {
    await grouped?.stop();
  },
  options: () => ({
    redis: { cluster: grouped.startupNodes },
    prefix: `cluster-groups-${process.pid}-${++seq}`,
  }),
});

let prioritized: RedisCluster;
// Priorities on a cluster: the levels, their lists and the take script stay in the queue's slot.
runPriorityContract({
  name: 'redis cluster',
  beforeAll: async () => {
    prioritized = await startRedisCluster();
  },
  afterAll: async () => {
    await prioritized?.stop();
  },
  options: () => ({
    redis: { cluster: prioritized.startupNodes },
    prefix: `cluster-prio-${process.pid}-${++seq}`,
  }),
});
