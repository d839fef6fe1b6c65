import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventBus, EventMetrics, EventQueues, SagaManager } from 'nestjs-events';
import { AppModule } from './app.module.js';
import { OrdersService } from './orders/orders.service.js';
import { OrderHistory } from './order-history.js';
import { OutboxOrders } from './orders/outbox-orders.js';
import { ReportListeners } from './reports/report.listeners.js';
import { storeJobOfPreviousRelease } from './reports/previous-release.js';

async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(AppModule, {
    logger: ['log', 'warn', 'error'],
  });
  const logger = new Logger('Sample');
  const orders = app.get(OrdersService);
  const queues = app.get(EventQueues);

  // A v1 job from the previous release, as a rolling deploy leaves it: its listener gets v2.
  await storeJobOfPreviousRelease(app, { orderId: 'o-0999', total: 12 });

  const order = { orderId: 'o-1001', customer: 'ada', total: 42.5 };
  await orders.placeOrder(order);
  logger.log(`paid: ${(await orders.pay(order)).join('; ')}`);
  await orders.ship(order.orderId);
  logger.log(
    `discount for ada: ${await orders.discountFor('ada')}%, for bob: ${await orders.discountFor('bob')}%`,
  );

  if (process.env.DATABASE_URL) {
    await app.get(OutboxOrders).place({ orderId: 'o-1002', customer: 'grace', total: 18 });
    logger.log('placed o-1002 through the transactional outbox (delivered after commit)');
  } else {
    logger.log('DATABASE_URL is not set: skipping the transactional outbox demo');
  }

  const history = app.get(OrderHistory);
  const stored = await history.storedHistory(order.orderId);
  logger.log(
    `history of ${order.orderId}: ${stored.map((e) => `v${e.version} ${e.name}`).join(', ')}`,
  );
  const rebuilt = await history.rebuild();
  logger.log(
    `rebuilt from ${rebuilt.events} stored events: ${history.timeline(order.orderId).join(', ')}`,
  );

  await app.get(ReportListeners).firstReport;
  logger.log(`schedules: ${(await app.get(EventBus).schedules()).map((s) => s.id).join(', ')}`);
  // Orchestrated sagas: one order goes through, one is declined at payment and compensated.
  const sagas = app.get(SagaManager);
  for (const input of [
    { orderId: 'o-2001', sku: 'book', total: 30 },
    { orderId: 'o-2002', sku: 'book', total: 5000 },
  ]) {
    const outcome = await sagas.execute('fulfilment', input, { id: input.orderId });
    logger.log(
      `saga fulfilment ${input.orderId}: ${outcome.status}${outcome.error ? ` (${outcome.error})` : ''}`,
    );
  }

  // Waits until every queued job (retries included) has completed or gone to dead letters.
  await queues.drain();
  for (const [queue, counts] of Object.entries(await queues.counts())) {
    logger.log(`queue ${queue}: ${JSON.stringify(counts)}`);
  }
  for (const dead of await queues.listDead('invoices')) {
    logger.log(
      `dead letter ${dead.id}: ${dead.reason} after ${dead.attempts} attempts (${dead.error})`,
    );
  }
  // What this process did, from EventMetrics (queued listeners: attempts, retries, dead letters).
  const snapshot = app.get(EventMetrics).snapshot();
  for (const [listener, m] of Object.entries(snapshot.listeners)) {
    logger.log(
      `metrics ${listener}: handled ${m.handled}, retried ${m.retried}, dead ${m.deadLettered}, avg ${m.avgLatencyMs} ms, p99 ${m.duration.p99Ms} ms`,
    );
  }
  logger.log(
    `metrics emitted: ${Object.entries(snapshot.events)
      .map(([name, e]) => `${name} ${e.emitted}`)
      .join(', ')}`,
  );
  await app.close();
}

main().catch((error: unknown) => {
  new Logger('Sample').error(error instanceof Error ? error.stack : String(error));
  process.exit(1);
});
