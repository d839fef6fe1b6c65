import type { Cluster, Redis } from 'ioredis';

/** A command connection: one Redis server, or a Redis Cluster (routed by key). */
export type RedisClient = Redis | Cluster;
