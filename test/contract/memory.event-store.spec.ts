import { MemoryEventStore } from 'nestjs-events';
import { eventStoreContract } from './event-store.contract.js';

eventStoreContract('memory', {
  create: async (options) => new MemoryEventStore(options),
  // One process, one store: its "other connections" are the same instance.
  peer: async (store) => store,
});
