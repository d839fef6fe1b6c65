import { setMaxListeners } from 'node:events';

/**
 * An `AbortController` whose signal many waiters listen to at once: one per queue of a worker,
 * one per settle being retried, one per open dashboard tail. Node warns past ten listeners on one
 * signal (a leak check); here the count follows the app's queues and load, and each waiter removes
 * its listener when it ends, so the check is turned off for this signal only.
 */
export function sharedAbortController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}
