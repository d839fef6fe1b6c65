import { Module } from '@nestjs/common';
import { EventsModule } from 'nestjs-events';
import { ActivityLog } from './orders/activity.log.js';
import { NotificationListeners } from './orders/notification.listeners.js';
import { OrderListeners } from './orders/order.listeners.js';
import { OrdersService } from './orders/orders.service.js';
import { UserListeners } from './users/user.listeners.js';
import { UsersDemo } from './users/users.demo.js';
import { UsersService } from './users/users.service.js';
import { OrderHistory, orderStreamId } from './order-history.js';
import { OutboxOrders } from './orders/outbox-orders.js';
import { OrderPlacedUpcasters, ReportListeners } from './reports/report.listeners.js';
import { OrderFulfilmentSaga } from './orders/order-fulfilment.saga.js';
import { Warehouse } from './orders/warehouse.js';
import { TenantMailListeners } from './tenants/tenant-mail.listeners.js';

@Module({
  imports: [
    // No redis option and no EVENTS_REDIS_URL: the embedded in-memory transport.
    EventsModule.forRoot({
      worker: { concurrency: { emails: 2, 'tenant-mail': 1 } },
      // Every order event is appended to the (in-memory) event store, one stream per order.
      store: { record: ['order.*'], streamId: orderStreamId },
      // The transactional outbox, only when a PostgreSQL database is given.
      ...(process.env.DATABASE_URL ? { outbox: { connection: process.env.DATABASE_URL } } : {}),
      // Stored in the transport and emitted once across every running app (Redis: by its clock).
      schedules: [
        { id: 'sales-report', name: 'report.sales', data: { period: 'daily' }, every: 1000 },
      ],
    }),
  ],
  providers: [
    ActivityLog,
    OrdersService,
    OrderListeners,
    NotificationListeners,
    UsersService,
    UserListeners,
    UsersDemo,
    OrderHistory,
    OutboxOrders,
    ReportListeners,
    OrderPlacedUpcasters,
    Warehouse,
    OrderFulfilmentSaga,
    TenantMailListeners,
  ],
})
export class AppModule {}
