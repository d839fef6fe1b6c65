import { BadRequestException, Catch, NotFoundException, type ArgumentsHost } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { EventsError } from '../errors/events.error.js';
import { InvalidEventNameError } from '../errors/invalid-event-name.error.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { InvalidPatternError } from '../errors/invalid-pattern.error.js';
import { UnknownQueueError } from '../errors/unknown-queue.error.js';
import { toHttpException } from '../http/events-exception.filter.js';

/**
 * Answers the dashboard's requests that failed with JSON: an unknown queue 404, a bad query
 * (offset, limit, pattern, name) 400, other events errors as `toHttpException` maps them; the
 * rest goes to Nest's default handling (500, logged). The app never crashes on bad input.
 */
@Catch()
export class DashboardFilter extends BaseExceptionFilter {
  override catch(exception: unknown, host: ArgumentsHost): void {
    super.catch(dashboardHttpError(exception) ?? exception, host);
  }
}

function dashboardHttpError(error: unknown) {
  if (!(error instanceof EventsError)) return undefined;
  const body = (statusCode: number, label: string) => ({
    statusCode,
    error: label,
    message: error.message,
    code: error.code,
  });
  if (error instanceof UnknownQueueError) {
    return new NotFoundException(body(404, 'Not Found'), { cause: error });
  }
  const isBadInput =
    error instanceof InvalidOptionError ||
    error instanceof InvalidPatternError ||
    error instanceof InvalidEventNameError;
  if (isBadInput) return new BadRequestException(body(400, 'Bad Request'), { cause: error });
  return toHttpException(error);
}
