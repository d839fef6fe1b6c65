import { runBatchContract } from './batch.contract.js';
import { runDeadTagsContract } from './dead-tags.contract.js';
import { runFlowRemovalContract } from './flow-removal.contract.js';
import { runPriorityContract } from './priority.contract.js';
import { runEmitManyContract } from './emit-many.contract.js';
import { runEventQueuesContract } from './event-queues.contract.js';
import { runGroupContract } from './queue-groups.contract.js';
import { runQueueContract } from './queue-transport.contract.js';

runQueueContract({ name: 'memory', options: () => ({}) });
runEventQueuesContract({ name: 'memory', options: () => ({}) });
runEmitManyContract({ name: 'memory', options: () => ({}) });
runDeadTagsContract({ name: 'memory', options: () => ({}) });
runGroupContract({ name: 'memory', options: () => ({}) });
runFlowRemovalContract({ name: 'memory', options: () => ({}) });
runPriorityContract({ name: 'memory', options: () => ({}) });
runBatchContract({ name: 'memory', options: () => ({}) });
