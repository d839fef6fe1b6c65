import 'reflect-metadata';
import { afterAll, beforeAll, expect } from 'vitest';
import { facadeState } from '../../lib/testing/event-facade.state.js';

// Spec files share worker processes (isolate: false): a file that leaves an application running
// hands its timers, connections and EventFacade registration to the next file: it fails.
let runningBefore = 0;
beforeAll(() => {
  runningBefore = facadeState.running;
});
afterAll(() => {
  const left = facadeState.running - runningBefore;
  if (left > 0) {
    const file = expect.getState().testPath ?? 'a spec file';
    throw new Error(
      `${file} left ${left} application(s) with EventsModule running: close every app it starts`,
    );
  }
});
