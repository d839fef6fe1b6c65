import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ShopModule } from './broadcast/shop.module.js';

/** `npm run sample:serve`: the broadcasting sample on PORT (default 3000), dashboard at /events. */
async function main(): Promise<void> {
  const app = await NestFactory.create(ShopModule, { logger: ['log', 'warn', 'error'] });
  app.enableShutdownHooks();
  await app.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1');
  const url = await app.getUrl();
  new Logger('Sample').log(`listening on ${url} (dashboard: ${url}/events)`);
}

main().catch((error: unknown) => {
  new Logger('Sample').error(error instanceof Error ? error.stack : String(error));
  process.exit(1);
});
