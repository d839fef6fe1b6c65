import {
  BadRequestException,
  Catch,
  HttpException,
  PayloadTooLargeException,
  ServiceUnavailableException,
  type ArgumentsHost,
} from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { EventsError } from '../errors/events.error.js';
import { EventValidationError } from '../errors/event-validation.error.js';
import { InvalidEventNameError } from '../errors/invalid-event-name.error.js';
import { PayloadTooLargeError, UnserializablePayloadError } from '../errors/payload.error.js';
import { TransportError } from '../errors/transport.error.js';

/**
 * The HTTP exception an `EventsError` stands for, in Nest's usual JSON shape
 * (`{ statusCode, message, error }`, plus `code` and, for validation refusals, `violations`);
 * `undefined` for errors that are the server's own fault (they stay 500).
 *
 * - `EventValidationError`, `InvalidEventNameError`, `UnserializablePayloadError`: 400
 * - `PayloadTooLargeError`: 413
 * - `TransportError` (Redis unreachable or refusing): 503
 */
export function toHttpException(error: unknown): HttpException | undefined {
  if (!(error instanceof EventsError)) return undefined;
  const body = (status: number, label: string, extra: Record<string, unknown> = {}) => ({
    statusCode: status,
    message: error.message,
    error: label,
    code: error.code,
    ...extra,
  });
  if (error instanceof EventValidationError) {
    return new BadRequestException(
      body(400, 'Bad Request', { violations: error.violations, event: error.eventName }),
      { cause: error },
    );
  }
  if (error instanceof InvalidEventNameError || error instanceof UnserializablePayloadError) {
    return new BadRequestException(body(400, 'Bad Request'), { cause: error });
  }
  if (error instanceof PayloadTooLargeError) {
    return new PayloadTooLargeException(body(413, 'Payload Too Large'), { cause: error });
  }
  if (error instanceof TransportError) {
    return new ServiceUnavailableException(body(503, 'Service Unavailable'), { cause: error });
  }
  return undefined;
}

/**
 * Answers HTTP requests whose handler let an events error escape with the status it stands for
 * (see `toHttpException`) instead of `500 Internal server error`. Other errors, and every error
 * outside HTTP (microservices, WebSockets), go to Nest's default handling unchanged.
 *
 * @example
 * // app.module.ts: global, with dependency injection
 * providers: [{ provide: APP_FILTER, useClass: EventsExceptionFilter }]
 * // or in main.ts
 * app.useGlobalFilters(new EventsExceptionFilter(app.get(HttpAdapterHost).httpAdapter));
 */
@Catch(EventsError)
export class EventsExceptionFilter extends BaseExceptionFilter {
  override catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    super.catch(toHttpException(exception) ?? exception, host);
  }
}
