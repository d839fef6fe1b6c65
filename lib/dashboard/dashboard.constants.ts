/** DI token of the resolved dashboard options. */
export const DASHBOARD_OPTIONS = Symbol('nestjs-events:dashboard-options');

/**
 * The header every mutation must carry (the page sets it). A cross-site form cannot set a
 * header, and a cross-site `fetch` with one needs a CORS preflight the dashboard never grants.
 */
export const DASHBOARD_CSRF_HEADER = 'x-events-dashboard';

/** Shown payloads are cut at this many bytes of JSON. */
export const SHOWN_PAYLOAD_BYTES = 10 * 1024;
