import type {
  ClaimBatch,
  ScheduleStore,
  StoredSchedule,
} from '../../scheduling/schedule-store.interface.js';
import { transportError } from './redis-errors.js';
import type { RedisQueueContext } from './redis-queue.context.js';
import { CLAIM_SCHEDULES_SCRIPT, COMMIT_SCHEDULE_SCRIPT } from './redis-schedule-scripts.js';
import { defineScriptCall } from './redis-script-call.js';

type ClaimReply = [number, [string, string, string, number][], string];

interface ScheduleCommands {
  eventsClaimSchedules(
    due: string,
    records: string,
    inFlight: string,
    limit: number,
    leaseMs: number,
  ): Promise<ClaimReply>;
  eventsCommitSchedule(
    due: string,
    records: string,
    inFlight: string,
    id: string,
    occurrence: string,
    next: string,
  ): Promise<number>;
}

/**
 * Schedules in Redis: a record hash, a due sorted set and an in-flight hash under one hash tag.
 * Due times are decided by Redis's clock; a claim and a commit are one script each.
 */
export class RedisScheduleStore implements ScheduleStore {
  private readonly keys: RedisQueueContext['keys']['schedules'];
  private readonly client: RedisQueueContext['client'] & ScheduleCommands;

  constructor(ctx: RedisQueueContext) {
    this.keys = ctx.keys.schedules;
    const client = ctx.client;
    // Plain EVAL/EVALSHA commands, as the queue's scripts (see defineScriptCall).
    defineScriptCall(client, 'eventsClaimSchedules', {
      lua: CLAIM_SCHEDULES_SCRIPT,
      numberOfKeys: 3,
    });
    defineScriptCall(client, 'eventsCommitSchedule', {
      lua: COMMIT_SCHEDULE_SCRIPT,
      numberOfKeys: 3,
    });
    this.client = client as typeof client & ScheduleCommands;
  }

  async now(): Promise<number> {
    try {
      const [seconds, micros] = await this.client.time();
      return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    } catch (error) {
      throw transportError("reading Redis's clock", error);
    }
  }

  async get(id: string): Promise<string | undefined> {
    try {
      return (await this.client.hget(this.keys.records, id)) ?? undefined;
    } catch (error) {
      throw transportError(`reading schedule "${id}"`, error);
    }
  }

  async upsert(id: string, record: string, due: number): Promise<void> {
    const k = this.keys;
    await this.exec(`storing schedule "${id}"`, (m) =>
      m.hset(k.records, id, record).zadd(k.due, Math.round(due), id).hdel(k.inFlight, id),
    );
  }

  async remove(id: string): Promise<boolean> {
    const k = this.keys;
    const replies = await this.exec(`deleting schedule "${id}"`, (m) =>
      m.hdel(k.records, id).zrem(k.due, id).hdel(k.inFlight, id),
    );
    return replies[0] === 1;
  }

  async list(): Promise<StoredSchedule[]> {
    const k = this.keys;
    const [records, due, inFlight] = (await this.exec('listing schedules', (m) =>
      m.hgetall(k.records).zrange(k.due, '0', '-1', 'WITHSCORES').hgetall(k.inFlight),
    )) as [Record<string, string>, string[], Record<string, string>];
    const out: StoredSchedule[] = [];
    for (let i = 0; i < due.length; i += 2) {
      const id = due[i];
      const record = records[id];
      if (record !== undefined) out.push({ id, record, due: Number(inFlight[id] ?? due[i + 1]) });
    }
    return out;
  }

  async claim(limit: number, leaseMs: number): Promise<ClaimBatch> {
    const k = this.keys;
    let reply: ClaimReply;
    try {
      reply = await this.client.eventsClaimSchedules(k.due, k.records, k.inFlight, limit, leaseMs);
    } catch (error) {
      throw transportError('claiming due schedules', error);
    }
    const [now, claimed, first] = reply;
    return {
      now,
      claimed: claimed.map(([id, due, record, isReclaim]) => ({
        id,
        due: Number(due),
        record,
        isReclaim: isReclaim === 1,
      })),
      nextDue: first === '' ? undefined : Number(first),
    };
  }

  async commit(id: string, due: number, next: number | undefined): Promise<boolean> {
    const k = this.keys;
    try {
      const next_ = next === undefined ? '' : String(Math.round(next));
      return (
        (await this.client.eventsCommitSchedule(
          k.due,
          k.records,
          k.inFlight,
          id,
          String(due),
          next_,
        )) === 1
      );
    } catch (error) {
      throw transportError(`committing schedule "${id}"`, error);
    }
  }

  /** One MULTI; its replies, or a TransportError naming `what`. */
  private async exec(
    what: string,
    build: (m: ReturnType<RedisQueueContext['client']['multi']>) => unknown,
  ): Promise<unknown[]> {
    try {
      const m = this.client.multi();
      build(m);
      const replies = (await m.exec()) ?? [];
      return replies.map(([error, value]) => {
        if (error) throw error;
        return value;
      });
    } catch (error) {
      throw transportError(what, error);
    }
  }
}
