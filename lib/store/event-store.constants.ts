/** DI token of the `EventRecorder` of the bus, or `null` when `store.record` is off. */
export const EVENT_RECORDER = Symbol('EVENT_RECORDER');
/** Metadata key: `@Replayable()` on a listener method or class. */
export const REPLAYABLE_METADATA = 'nestjs-events:replayable';
