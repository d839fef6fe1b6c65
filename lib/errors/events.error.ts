/**
 * Base class of every error this library throws on purpose. `code` is stable across versions,
 * so callers can branch on it instead of on the message.
 */
export class EventsError extends Error {
  /** A stable, machine-readable code such as `EVENTS_INVALID_PATTERN`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Renders a received value for an error message, short and without throwing. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null || typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return `array(${value.length})`;
  try {
    const json = JSON.stringify(value);
    return json.length > 80 ? `${json.slice(0, 77)}...` : json;
  } catch {
    return `object ${value.constructor?.name ?? ''}`.trim();
  }
}
