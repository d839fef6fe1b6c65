import { describe, expect, it } from 'vitest';
import {
  resolveEventsOptions,
  type EventsModuleOptions,
  type ResolvedEventsOptions,
} from '../../lib/events.options.js';
import type { EventMiddleware } from '../../lib/middleware/event-middleware.interface.js';
import { InvalidOptionError } from '../../lib/errors/invalid-option.error.js';

const noEnv: NodeJS.ProcessEnv = Object.freeze({});

function resolve(options: unknown, env: NodeJS.ProcessEnv = noEnv): ResolvedEventsOptions {
  return resolveEventsOptions(options as EventsModuleOptions, env);
}

function invalid(options: unknown, env: NodeJS.ProcessEnv = noEnv): InvalidOptionError {
  let caught: unknown;
  try {
    resolve(options, env);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(InvalidOptionError);
  const error = caught as InvalidOptionError;
  expect(error.code).toBe('EVENTS_INVALID_OPTION');
  return error;
}

class AuditMiddleware implements EventMiddleware {
  use(_context: unknown, next: () => Promise<unknown>) {
    return next();
  }
}

describe('resolveEventsOptions', () => {
  it('applies the documented defaults', () => {
    // toMatchObject: options added by other features are tested with those features.
    expect(resolve({})).toMatchObject({
      redis: undefined,
      prefix: 'events',
      worker: { enabled: true, concurrency: 1, queues: undefined, shutdownTimeout: 10_000 },
      middleware: [],
      visibilityTimeout: 30_000,
      defaults: { queue: 'default', tries: 1, backoff: 0, timeout: 0 },
      maxPayloadBytes: 1024 * 1024,
    });
    expect(resolve(undefined)).toEqual(resolve({}));
  });

  it('keeps every explicit option', () => {
    const middleware = [AuditMiddleware, new AuditMiddleware()];
    const resolved = resolve({
      redis: 'redis://localhost:6380/2',
      prefix: 'shop:eu',
      worker: { concurrency: { emails: 4, default: 2 }, queues: ['emails'], shutdownTimeout: 500 },
      middleware,
      visibilityTimeout: 5_000,
      defaults: {
        queue: 'jobs',
        tries: 3,
        backoff: { type: 'exponential', delay: 100, maxDelay: 1000 },
        timeout: 2_000,
      },
      maxPayloadBytes: 4096,
      isGlobal: false,
    });
    expect(resolved).toMatchObject({
      redis: 'redis://localhost:6380/2',
      prefix: 'shop:eu',
      worker: {
        enabled: true,
        concurrency: { emails: 4, default: 2 },
        queues: ['emails'],
        shutdownTimeout: 500,
      },
      middleware,
      visibilityTimeout: 5_000,
      defaults: {
        queue: 'jobs',
        tries: 3,
        backoff: { type: 'exponential', delay: 100, maxDelay: 1000 },
        timeout: 2_000,
      },
      maxPayloadBytes: 4096,
    });
    expect(resolved.middleware).not.toBe(middleware);
  });

  it('accepts ioredis options for redis', () => {
    expect(resolve({ redis: { host: '10.0.0.1', port: 6390 } }).redis).toEqual({
      host: '10.0.0.1',
      port: 6390,
    });
    expect(resolve({ redis: 'rediss://user:pw@cache.internal:6380' }).redis).toBe(
      'rediss://user:pw@cache.internal:6380',
    );
    expect(resolve({ redis: 'unix:///var/run/redis.sock' }).redis).toBe(
      'unix:///var/run/redis.sock',
    );
  });

  it('turns the worker off with worker: false', () => {
    expect(resolve({ worker: false }).worker.enabled).toBe(false);
    expect(resolve({ worker: true }).worker.enabled).toBe(true);
  });

  it('neither mutates the options nor the environment it is given', () => {
    const options = Object.freeze({
      prefix: 'p',
      worker: Object.freeze({ queues: Object.freeze(['a']) as unknown as string[] }),
      middleware: Object.freeze([AuditMiddleware]) as unknown as [],
    });
    const env = Object.freeze({ EVENTS_RETRY_ATTEMPTS: '2' });
    expect(() => resolve(options, env)).not.toThrow();
  });

  describe('environment variables', () => {
    it.each<[string, string, (r: ResolvedEventsOptions) => unknown, unknown]>([
      ['EVENTS_REDIS_URL', 'redis://cache:6379', (r) => r.redis, 'redis://cache:6379'],
      ['EVENTS_PREFIX', 'staging', (r) => r.prefix, 'staging'],
      ['EVENTS_DEFAULT_QUEUE', 'jobs', (r) => r.defaults.queue, 'jobs'],
      ['EVENTS_RETRY_ATTEMPTS', '5', (r) => r.defaults.tries, 5],
      ['EVENTS_RETRY_DELAY_MS', '2500', (r) => r.defaults.backoff, 2500],
      ['EVENTS_MAX_PAYLOAD_BYTES', '65536', (r) => r.maxPayloadBytes, 65536],
      ['EVENTS_WORKER', 'false', (r) => r.worker.enabled, false],
    ])('reads %s', (variable, value, read, expected) => {
      expect(read(resolve({}, { [variable]: value }))).toEqual(expected);
    });

    it('EVENTS_WORKER takes true or false, and yields to an explicit worker option', () => {
      expect(resolve({}, { EVENTS_WORKER: 'true' }).worker.enabled).toBe(true);
      expect(resolve({ worker: true }, { EVENTS_WORKER: 'false' }).worker.enabled).toBe(true);
      expect(() => resolve({}, { EVENTS_WORKER: 'no' })).toThrow(InvalidOptionError);
    });

    it('ignores an empty variable', () => {
      const env = {
        EVENTS_REDIS_URL: '',
        EVENTS_PREFIX: '',
        EVENTS_DEFAULT_QUEUE: '',
        EVENTS_RETRY_ATTEMPTS: '',
        EVENTS_RETRY_DELAY_MS: '',
        EVENTS_MAX_PAYLOAD_BYTES: '',
      };
      expect(resolve({}, env)).toEqual(resolve({}));
    });

    it('lets explicit options win over every variable', () => {
      const env = {
        EVENTS_REDIS_URL: 'redis://from-env:6379',
        EVENTS_PREFIX: 'from-env',
        EVENTS_DEFAULT_QUEUE: 'from-env',
        EVENTS_RETRY_ATTEMPTS: '9',
        EVENTS_RETRY_DELAY_MS: '9999',
        EVENTS_MAX_PAYLOAD_BYTES: '999',
      };
      const resolved = resolve(
        {
          redis: 'redis://explicit:6379',
          prefix: 'explicit',
          defaults: { queue: 'explicit', tries: 2, backoff: [10, 20] },
          maxPayloadBytes: 2048,
        },
        env,
      );
      expect(resolved.redis).toBe('redis://explicit:6379');
      expect(resolved.prefix).toBe('explicit');
      expect(resolved.defaults).toEqual({
        queue: 'explicit',
        tries: 2,
        backoff: [10, 20],
        timeout: 0,
      });
      expect(resolved.maxPayloadBytes).toBe(2048);
    });

    it('does not validate a variable that an explicit option overrides', () => {
      expect(resolve({ prefix: 'ok' }, { EVENTS_PREFIX: 'not ok' }).prefix).toBe('ok');
    });

    it.each<[string, string, RegExp]>([
      ['EVENTS_REDIS_URL', 'localhost:6379', /redis:\/\//],
      ['EVENTS_PREFIX', 'has space', /letters, digits/],
      ['EVENTS_PREFIX', '{tagged}', /letters, digits/],
      ['EVENTS_DEFAULT_QUEUE', 'a/b', /letters, digits/],
      ['EVENTS_RETRY_ATTEMPTS', 'three', /integer from 1 to 1000/],
      ['EVENTS_RETRY_ATTEMPTS', '0', /integer from 1 to 1000/],
      ['EVENTS_RETRY_ATTEMPTS', '2.5', /integer from 1 to 1000/],
      ['EVENTS_RETRY_ATTEMPTS', '0x10', /integer from 1 to 1000/],
      ['EVENTS_RETRY_ATTEMPTS', '1e2', /integer from 1 to 1000/],
      ['EVENTS_RETRY_DELAY_MS', '-5', /ms \(integer >= 0\)/],
      ['EVENTS_RETRY_DELAY_MS', ' ', /integer/],
      ['EVENTS_MAX_PAYLOAD_BYTES', '0', /integer from 1 to/],
      ['EVENTS_MAX_PAYLOAD_BYTES', '1MB', /integer from 1 to/],
    ])('refuses %s=%j, naming the variable and what it allows', (variable, value, allowed) => {
      const error = invalid({}, { [variable]: value });
      expect(error.option).toBe(variable);
      expect(error.message).toContain(`"${variable}"`);
      expect(error.message).toMatch(allowed);
      // What was received: the raw text, or the number it reads as when only the range is wrong.
      expect([value, Number(value)]).toContain(error.received);
    });
  });

  describe('invalid options', () => {
    it.each<[string, unknown, string, RegExp]>([
      ['options that are not an object', 'redis://x', 'options', /an options object/],
      ['options as an array', [], 'options', /an options object/],
      ['null options', null, 'options', /an options object/],
      ['an unknown option', { reddis: 'redis://x' }, 'reddis', /no such option.*redis, prefix/],
      ['a redis host without scheme', { redis: 'localhost' }, 'redis', /redis:\/\//],
      ['redis as a number', { redis: 6379 }, 'redis', /URL string/],
      ['redis as an array', { redis: ['redis://a'] }, 'redis', /URL string/],
      ['an empty prefix', { prefix: '' }, 'prefix', /non-empty string/],
      ['a prefix with a brace', { prefix: 'a{b}' }, 'prefix', /letters, digits/],
      ['a too long prefix', { prefix: 'p'.repeat(201) }, 'prefix', /at most 200/],
      ['a numeric prefix', { prefix: 5 }, 'prefix', /string/],
      ['worker as a string', { worker: 'yes' }, 'worker', /a boolean or/],
      ['worker null', { worker: null }, 'worker', /a boolean or/],
      ['an unknown worker key', { worker: { concurency: 2 } }, 'worker.concurency', /allowed/],
      ['zero concurrency', { worker: { concurrency: 0 } }, 'worker.concurrency', /from 1/],
      ['fractional concurrency', { worker: { concurrency: 1.5 } }, 'worker.concurrency', /integer/],
      [
        'a bad per-queue concurrency',
        { worker: { concurrency: { emails: -1 } } },
        'worker.concurrency.emails',
        /integer from 1/,
      ],
      [
        'a bad queue name in concurrency',
        { worker: { concurrency: { 'bad name': 1 } } },
        'worker.concurrency (queue name)',
        /letters, digits/,
      ],
      [
        'concurrency as a string',
        { worker: { concurrency: '2' } },
        'worker.concurrency',
        /integer >= 1/,
      ],
      ['queues as a string', { worker: { queues: 'emails' } }, 'worker.queues', /array/],
      ['a bad queue name', { worker: { queues: ['ok', ''] } }, 'worker.queues', /non-empty/],
      [
        'a negative shutdownTimeout',
        { worker: { shutdownTimeout: -1 } },
        'worker.shutdownTimeout',
        /integer >= 0/,
      ],
      ['middleware not an array', { middleware: AuditMiddleware }, 'middleware', /array/],
      ['a null middleware', { middleware: [null] }, 'middleware', /middleware classes/],
      ['a string middleware', { middleware: ['Audit'] }, 'middleware', /middleware classes/],
      ['a middleware object without use()', { middleware: [{}] }, 'middleware', /use\(\)/],
      [
        'a too short visibilityTimeout',
        { visibilityTimeout: 99 },
        'visibilityTimeout',
        /integer >= 100/,
      ],
      [
        'a string visibilityTimeout',
        { visibilityTimeout: '30000' },
        'visibilityTimeout',
        /integer >= 100/,
      ],
      ['defaults as an array', { defaults: [] }, 'defaults', /an object/],
      ['an unknown defaults key', { defaults: { retries: 3 } }, 'defaults.retries', /allowed/],
      ['a bad default queue', { defaults: { queue: 'a b' } }, 'defaults.queue', /letters/],
      ['zero default tries', { defaults: { tries: 0 } }, 'defaults.tries', /from 1 to 1000/],
      ['too many default tries', { defaults: { tries: 1001 } }, 'defaults.tries', /to 1000/],
      ['a bad default backoff', { defaults: { backoff: -1 } }, 'defaults.backoff', /ms/],
      ['a negative default timeout', { defaults: { timeout: -1 } }, 'defaults.timeout', />= 0/],
      ['zero maxPayloadBytes', { maxPayloadBytes: 0 }, 'maxPayloadBytes', /integer from 1/],
      [
        'a huge maxPayloadBytes',
        { maxPayloadBytes: 1024 * 1024 * 1024 },
        'maxPayloadBytes',
        /to 536870912/,
      ],
      ['isGlobal as a string', { isGlobal: 'yes' }, 'isGlobal', /a boolean/],
    ])('refuses %s', (_label, options, option, allowed) => {
      const error = invalid(options);
      expect(error.option).toBe(option);
      expect(error.message).toContain(`"${option}"`);
      expect(error.message).toMatch(/expected /);
      expect(error.message).toMatch(allowed);
    });

    it('names what was received', () => {
      expect(invalid({ visibilityTimeout: 12.5 }).message).toContain('received 12.5');
      expect(invalid({ prefix: 'a b' }).message).toContain('received "a b"');
    });
  });

  describe('asyncContext', () => {
    it('defaults to true, takes a boolean, refuses anything else', () => {
      expect(resolve({}).asyncContext).toBe(true);
      expect(resolve({ asyncContext: false }).asyncContext).toBe(false);
      expect(() => resolve({ asyncContext: 'no' as unknown as boolean })).toThrow(/asyncContext/);
    });
  });

  describe('dedupeWindowMs and replication', () => {
    it('defaults dedupeWindowMs to one hour and replication to none', () => {
      expect(resolve({})).toMatchObject({ dedupeWindowMs: 3_600_000, replication: undefined });
    });

    it('fills replication defaults', () => {
      expect(resolve({ dedupeWindowMs: 5000, replication: { replicas: 2 } })).toMatchObject({
        dedupeWindowMs: 5000,
        replication: { replicas: 2, timeoutMs: 500, settles: false },
      });
    });

    it.each([
      [{ dedupeWindowMs: 0 }, 'dedupeWindowMs'],
      [{ dedupeWindowMs: 1.5 }, 'dedupeWindowMs'],
      [{ replication: 1 }, 'replication'],
      [{ replication: { replicas: 0 } }, 'replication.replicas'],
      [{ replication: { replicas: 1, timeoutMs: 6000 } }, 'replication.timeoutMs'],
      [{ replication: { replicas: 1, settles: 'yes' } }, 'replication.settles'],
      [{ replication: { replicas: 1, wait: 3 } }, 'replication.wait'],
    ])('refuses %j, naming %s', (options, option) => {
      expect(invalid(options).option).toBe(option);
    });
  });
});
