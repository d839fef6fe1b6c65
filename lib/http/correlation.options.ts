import { InvalidOptionError } from '../errors/invalid-option.error.js';

/** The `correlation` option of `EventsModule.forRoot`: what `EventCorrelationInterceptor` reads. */
export interface CorrelationOptions {
  /**
   * The request header that carries the correlation id, echoed in the response.
   * @default 'X-Correlation-ID'
   */
  header?: string;
}

/** `correlation` after defaults and validation. */
export interface ResolvedCorrelationOptions {
  /** The header as given, for the response. */
  readonly header: string;
}

/** An HTTP header name (RFC 9110 token). */
const TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/;

/** @throws InvalidOptionError naming `correlation` or `correlation.header`. */
export function resolveCorrelation(value: unknown): ResolvedCorrelationOptions {
  if (value === undefined) return { header: 'X-Correlation-ID' };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidOptionError('correlation', value, 'an object { header? }');
  }
  const { header = 'X-Correlation-ID', ...rest } = value as CorrelationOptions;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) {
    throw new InvalidOptionError(
      `correlation.${unknown[0]}`,
      (rest as Record<string, unknown>)[unknown[0]],
      'no such option (allowed: header)',
    );
  }
  if (typeof header !== 'string' || !TOKEN.test(header)) {
    throw new InvalidOptionError('correlation.header', header, 'an HTTP header name');
  }
  return { header };
}
