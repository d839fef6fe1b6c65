import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventsServer } from 'nestjs-events';
import { WorkerModule } from './worker.module.js';

/**
 * A worker process: no HTTP server, only the queued listeners and `@EventPattern` handlers of
 * `WorkerModule`, fed from Redis. Run as many as you like (`npm run sample:worker` in several
 * terminals): they share each queue through its consumer group. Needs Redis (`EVENTS_REDIS_URL`,
 * default redis://127.0.0.1:6379). Ctrl-C (SIGINT) or SIGTERM stops taking jobs, lets running
 * ones finish (up to `worker.shutdownTimeout`), and leaves the rest pending for the others.
 */
async function main(): Promise<void> {
  const app = await NestFactory.createMicroservice(WorkerModule, {
    strategy: new EventsServer({
      queues: ['emails', 'invoices', 'refunds'],
      concurrency: { emails: 4, invoices: 1, refunds: 2 },
    }),
  });
  app.enableShutdownHooks();
  await app.listen();
  new Logger('Worker').log(`worker ${process.pid} is taking jobs`);
}

main().catch((error: unknown) => {
  new Logger('Worker').error(error instanceof Error ? error.stack : String(error));
  process.exit(1);
});
