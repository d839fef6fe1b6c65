import type { CanActivate, Type } from '@nestjs/common';
import { InvalidOptionError } from '../errors/invalid-option.error.js';

/** Decides whether a request may see the dashboard (the platform's request object). */
export type DashboardAuthFunction = (request: unknown) => boolean | Promise<boolean>;

/** Options of `EventsDashboardModule.forRoot()`. */
export interface EventsDashboardOptions {
  /**
   * Where the page is served; the JSON API lives under `<path>/api`.
   * @default '/events'
   */
  path?: string;
  /**
   * Who may see the dashboard: a function of the request (`true` lets it in), or a Nest guard
   * class (made a provider of the module, so it can inject). Without it, every request gets 403
   * unless `NODE_ENV` is `development` or `test`.
   * @default none
   */
  auth?: DashboardAuthFunction | Type<CanActivate>;
  /** Refuse every mutation (retry, forget, purge) with 403. @default false */
  readOnly?: boolean;
  /**
   * Paths in each shown payload's `data` (and saga input and state) written as `[redacted]`:
   * dot-separated, `*` for every key or index of a level (`'card.number'`, `'users.*.password'`).
   * @default []
   */
  redact?: string[];
}

/** `EventsDashboardOptions` after defaults and validation. */
export interface ResolvedDashboardOptions {
  /** Leading slash, no trailing one (`/events`). */
  readonly path: string;
  readonly auth:
    | { readonly kind: 'function'; readonly check: DashboardAuthFunction }
    | { readonly kind: 'guard'; readonly guard: Type<CanActivate> }
    | undefined;
  readonly isReadOnly: boolean;
  readonly redact: readonly (readonly string[])[];
}

const PATH = /^(\/[A-Za-z0-9._~-]+)+$/;

/**
 * Defaults and validation of the dashboard options.
 * @throws InvalidOptionError naming the option (`EventsDashboardModule.path`, ...).
 */
export function resolveDashboardOptions(
  options: EventsDashboardOptions = {},
): ResolvedDashboardOptions {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('EventsDashboardModule', options, 'an options object');
  }
  const path = (options.path ?? '/events').replace(/\/+$/, '');
  if (!PATH.test(path)) {
    throw new InvalidOptionError(
      'EventsDashboardModule.path',
      options.path,
      "a URL path such as '/events' (letters, digits, '.', '_', '~', '-' between slashes)",
    );
  }
  const { auth, readOnly = false, redact = [] } = options;
  if (auth !== undefined && typeof auth !== 'function') {
    throw new InvalidOptionError(
      'EventsDashboardModule.auth',
      auth,
      'a function (request) => boolean | Promise<boolean>, or a guard class',
    );
  }
  if (typeof readOnly !== 'boolean') {
    throw new InvalidOptionError('EventsDashboardModule.readOnly', readOnly, 'a boolean');
  }
  const isPathList =
    Array.isArray(redact) &&
    redact.every((p) => typeof p === 'string' && p.length > 0 && !p.split('.').includes(''));
  if (!isPathList) {
    throw new InvalidOptionError(
      'EventsDashboardModule.redact',
      redact,
      "an array of paths such as 'card.number'",
    );
  }
  return {
    path,
    auth:
      auth === undefined
        ? undefined
        : isGuardClass(auth)
          ? { kind: 'guard', guard: auth }
          : { kind: 'function', check: auth as DashboardAuthFunction },
    isReadOnly: readOnly,
    redact: redact.map((p) => p.split('.')),
  };
}

/** A class whose instances have `canActivate` (arrow functions have no prototype). */
function isGuardClass(auth: Function): auth is Type<CanActivate> {
  const prototype = (auth as { prototype?: { canActivate?: unknown } }).prototype;
  return typeof prototype?.canActivate === 'function';
}
