import { SYSTEM_EVENT_PREFIX } from '../event/system-events.js';

/** DI token of the resolved `EventsBroadcastingModule` options. */
export const BROADCASTING_OPTIONS = Symbol('BROADCASTING_OPTIONS');
/** DI token of the application's `BroadcastAuthenticator`. */
export const BROADCAST_AUTHENTICATOR = Symbol('BROADCAST_AUTHENTICATOR');
/** The event a queued broadcast travels as (one job on the broadcasts queue). */
export const BROADCAST_JOB_EVENT = `${SYSTEM_EVENT_PREFIX}broadcast`;
