import {
  ForbiddenException,
  Inject,
  Injectable,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { firstValueFrom, isObservable } from 'rxjs';
import { DASHBOARD_CSRF_HEADER, DASHBOARD_OPTIONS } from './dashboard.constants.js';
import type { ResolvedDashboardOptions } from './dashboard.options.js';

/** What the guard reads of a request (Express and Fastify requests both have it). */
interface DashboardRequest {
  readonly method?: string;
  readonly headers?: Record<string, string | string[] | undefined>;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Guards every dashboard route: the `auth` option first (403 without it outside development and
 * test), then, for mutations, the CSRF header and `readOnly`.
 */
@Injectable()
export class DashboardGuard implements CanActivate {
  constructor(
    @Inject(DASHBOARD_OPTIONS) private readonly options: ResolvedDashboardOptions,
    private readonly moduleRef: ModuleRef,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<DashboardRequest>();
    if (!(await this.isAllowed(request, context))) {
      throw new ForbiddenException({
        statusCode: 403,
        error: 'Forbidden',
        message: this.options.auth
          ? 'The dashboard refused these credentials.'
          : 'The dashboard has no auth option: it answers only when NODE_ENV is development or test.',
      });
    }
    if (SAFE_METHODS.has((request.method ?? 'GET').toUpperCase())) return true;
    if (this.options.isReadOnly) {
      throw new ForbiddenException({
        statusCode: 403,
        error: 'Forbidden',
        message: 'The dashboard is read-only (readOnly: true): retry, forget and purge are off.',
      });
    }
    if (request.headers?.[DASHBOARD_CSRF_HEADER] !== '1') {
      throw new ForbiddenException({
        statusCode: 403,
        error: 'Forbidden',
        message: `A dashboard mutation needs the header "${DASHBOARD_CSRF_HEADER}: 1" (the page sets it).`,
      });
    }
    return true;
  }

  private async isAllowed(request: DashboardRequest, context: ExecutionContext): Promise<boolean> {
    const auth = this.options.auth;
    if (auth === undefined) {
      const env = process.env.NODE_ENV;
      return env === 'development' || env === 'test';
    }
    if (auth.kind === 'function') return (await auth.check(request)) === true;
    const guard = this.moduleRef.get(auth.guard, { strict: false });
    const result = guard.canActivate(context);
    const allowed = isObservable(result) ? await firstValueFrom(result) : await result;
    return allowed === true;
  }
}
