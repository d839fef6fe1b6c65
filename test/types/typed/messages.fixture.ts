// Compiled with the typed map; the errors here are expected and their messages asserted
// by test/types/type-tests.spec.ts (no @ts-expect-error on purpose).
import { EventBus } from 'nestjs-events';
import './events.js';

declare const bus: EventBus;

void bus.emit('order.craeted', { id: 'o1', total: 1 });
void bus.emit('order.created', { idd: 'o1', total: 1 });
