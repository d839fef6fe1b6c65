import { EventAssertionError } from '../errors/event-assertion.error.js';
import { EventFacadeUsageError } from '../errors/event-facade-usage.error.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import { summarize } from './dispatch-report.js';
import { EventFacadeBinding } from './event-facade.binding.js';
import type { EventRef } from './event-ref.js';
import {
  facadeState,
  type DispatchRecord,
  type FacadeTarget,
  type FakeSession,
} from './event-facade.state.js';
import type { FacadeApplication } from './event.facade.js';

/**
 * What `EventFacade`'s methods share: the application a fake binds to, the current session (or
 * the usage error that says why there is none), the records an assertion reads, and the
 * assertion failure with the summary of what was dispatched.
 */

export function targetOf(app: unknown): FacadeTarget {
  if (
    app === null ||
    typeof app !== 'object' ||
    typeof (app as { get?: unknown }).get !== 'function'
  ) {
    throw new InvalidOptionError(
      'EventFacade.fake(app)',
      app,
      'a Nest application, TestingModule or ModuleRef (or a list of events to fake)',
    );
  }
  try {
    return (app as FacadeApplication).get(EventFacadeBinding, { strict: false }).target;
  } catch {
    throw new EventFacadeUsageError(
      'no-application',
      'EventFacade.fake(app): this application has no EventsModule. ' +
        'Import EventsModule.forRoot() in the module you test, then pass its app or ModuleRef.',
    );
  }
}

export function session(method: string): FakeSession {
  const current = facadeState.session;
  if (!current) {
    throw new EventFacadeUsageError(
      'not-faked',
      `EventFacade.${method}() was called before EventFacade.fake() (or after restore()): nothing ` +
        'is being recorded. Call EventFacade.fake() once the application has started (or ' +
        'EventFacade.fake(app)), then act, then assert.',
    );
  }
  if (!current.target) throw noApplication(method);
  return current;
}

export function noApplication(method: string): EventFacadeUsageError {
  return new EventFacadeUsageError(
    'no-application',
    `EventFacade.${method}(): no application to fake. No application with EventsModule has ` +
      'started (await app.init() on the TestingModule or application), or it has shut down. ' +
      'Start it, or bind one explicitly with EventFacade.fake(app).',
  );
}

export function matchingRecords(fake: FakeSession, ref: EventRef): DispatchRecord[] {
  return fake.records.filter((r) => ref.matches(r.envelope.name));
}

export function fail(fake: FakeSession, expectation: string): never {
  const scope = fake.fakes ? `\nFaking only: ${fake.fakes.join(', ')}.` : '';
  throw new EventAssertionError(
    `${expectation}\n${summarize(fake.records, fake.fakes !== undefined)}${scope}`,
  );
}
