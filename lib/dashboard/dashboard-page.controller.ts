import { readFileSync } from 'node:fs';
import { Get, Header, Inject, NotFoundException, Param, Req } from '@nestjs/common';
import { SagaManager } from '../sagas/saga.manager.js';
import { DASHBOARD_CSRF_HEADER, DASHBOARD_OPTIONS } from './dashboard.constants.js';
import type { ResolvedDashboardOptions } from './dashboard.options.js';

/** The page's files, shipped beside this module (the build copies `page/` into `dist/`). */
function asset(name: string): string {
  return readFileSync(new URL(`./page/${name}`, import.meta.url), 'utf8');
}

/** The page's scripts (ES modules that import each other by these names). */
const SCRIPTS = ['dashboard.js', 'page-common.js', 'groups-view.js', 'tail-view.js'];

/**
 * Nothing but this origin: the page loads its own script and style and talks to its own API,
 * so a request elsewhere (or an injected inline script) is refused by the browser.
 */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
  "img-src 'self' data:; base-uri 'self'; form-action 'none'; frame-ancestors 'none'";

/** Serves the dashboard page and its script and style (mounted at `path`). */
export class DashboardPageController {
  private readonly html = asset('index.html');
  private readonly scripts = new Map(SCRIPTS.map((name) => [name, asset(name)]));
  private readonly style = asset('dashboard.css');

  constructor(
    @Inject(DASHBOARD_OPTIONS) private readonly options: ResolvedDashboardOptions,
    private readonly sagas: SagaManager,
  ) {}

  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('content-security-policy', CSP)
  @Header('cache-control', 'no-store')
  @Header('x-content-type-options', 'nosniff')
  page(@Req() request: { originalUrl?: string; url?: string }): string {
    // Relative links resolve against the page's own URL (global prefix included), with or
    // without its trailing slash.
    const path = (request.originalUrl ?? request.url ?? '/').split('?')[0].replace(/\/*$/, '/');
    return this.html
      .replace('{{base}}', escapeAttribute(path))
      .replace('{{readOnly}}', String(this.options.isReadOnly))
      .replace('{{sagas}}', String(this.sagas.names().length > 0))
      .replace('{{csrfHeader}}', DASHBOARD_CSRF_HEADER);
  }

  // Before the scripts' route: Express matches routes in the order they are declared.
  @Get('assets/dashboard.css')
  @Header('content-type', 'text/css; charset=utf-8')
  @Header('cache-control', 'no-cache')
  @Header('x-content-type-options', 'nosniff')
  dashboardStyle(): string {
    return this.style;
  }

  /** One of the page's scripts, by name; any other name is a 404 (never a file lookup). */
  @Get('assets/:script')
  @Header('content-type', 'text/javascript; charset=utf-8')
  @Header('cache-control', 'no-cache')
  @Header('x-content-type-options', 'nosniff')
  dashboardScript(@Param('script') name: string): string {
    const script = this.scripts.get(name);
    if (script === undefined) {
      throw new NotFoundException({
        statusCode: 404,
        error: 'Not Found',
        message: `No dashboard asset "${name}".`,
      });
    }
    return script;
  }
}

function escapeAttribute(value: string): string {
  return value.replace(/[&"<>]/g, (c) => `&#${c.charCodeAt(0)};`);
}
