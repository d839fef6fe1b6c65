import { InvalidOptionError } from '../errors/invalid-option.error.js';

/** The `tracing` option of `EventsModule.forRoot`, as an object. */
export interface TracingOptions {
  /**
   * The name of the OpenTelemetry tracer the spans come from (the instrumentation scope).
   * @default 'nestjs-events'
   */
  tracerName?: string;
  /**
   * Also set on each span what it otherwise only implies: `nestjs_events.event` (the event name,
   * already in the span name), `messaging.message.conversation_id` (the correlation id) and, on
   * `process`, `nestjs_events.job.id`. Each attribute costs every span a copy and a check in the
   * SDK, and the spans of a busy queue wait in the exporter's batch.
   * @default false
   */
  detailedAttributes?: boolean;
}

/** `tracing` after defaults and validation. */
export interface ResolvedTracingOptions {
  /** `false` when `tracing: false`: no span, no trace context in envelopes. */
  readonly isEnabled: boolean;
  /** Set explicitly (`true` or an object): a missing `@opentelemetry/api` fails the boot. */
  readonly isRequired: boolean;
  readonly tracerName: string;
  /** `detailedAttributes`. */
  readonly isDetailed: boolean;
}

/**
 * Resolves the `tracing` option: left out, spans are made when `@opentelemetry/api` is installed
 * (a no-op without an SDK); `true` or an object also require it; `false` turns tracing off.
 *
 * @throws InvalidOptionError naming `tracing` or its sub-option.
 */
export function resolveTracing(value: unknown): ResolvedTracingOptions {
  if (value === undefined || typeof value === 'boolean') {
    return {
      isEnabled: value !== false,
      isRequired: value === true,
      tracerName: 'nestjs-events',
      isDetailed: false,
    };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidOptionError(
      'tracing',
      value,
      'a boolean or { tracerName?, detailedAttributes? }',
    );
  }
  const {
    tracerName = 'nestjs-events',
    detailedAttributes = false,
    ...rest
  } = value as TracingOptions;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) {
    throw new InvalidOptionError(
      `tracing.${unknown[0]}`,
      (rest as Record<string, unknown>)[unknown[0]],
      'no such option (allowed: tracerName, detailedAttributes)',
    );
  }
  if (typeof tracerName !== 'string' || tracerName.length === 0) {
    throw new InvalidOptionError('tracing.tracerName', tracerName, 'a non-empty string');
  }
  if (typeof detailedAttributes !== 'boolean') {
    throw new InvalidOptionError('tracing.detailedAttributes', detailedAttributes, 'a boolean');
  }
  return { isEnabled: true, isRequired: true, tracerName, isDetailed: detailedAttributes };
}
