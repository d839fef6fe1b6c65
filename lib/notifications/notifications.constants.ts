/** DI token of the names of the registered notification channels. */
export const NOTIFICATION_CHANNELS = Symbol('NOTIFICATION_CHANNELS');
/** DI token of the resolved `EventsNotificationsModule` options. */
export const NOTIFICATIONS_OPTIONS = Symbol('NOTIFICATIONS_OPTIONS');
