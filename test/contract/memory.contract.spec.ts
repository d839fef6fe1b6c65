import { runQueueContract } from './queue-transport.contract.js';

runQueueContract({ name: 'memory', options: () => ({}) });
