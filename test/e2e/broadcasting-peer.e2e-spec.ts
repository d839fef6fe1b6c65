import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  EventsBroadcastingModule,
  MissingPeerDependencyError,
  type BroadcastAuthenticator,
} from 'nestjs-events';
import { createTestApp } from '../support/create-test-app.js';

class Anonymous implements BroadcastAuthenticator {
  authenticate(): null {
    return null;
  }
}

describe('EventsBroadcastingModule without socket.io', () => {
  afterEach(() => {
    vi.doUnmock('socket.io');
  });

  it('fails the boot, naming the package, when socket.io cannot be loaded', async () => {
    vi.doMock('socket.io', () => {
      throw Object.assign(new Error("Cannot find package 'socket.io'"), {
        code: 'ERR_MODULE_NOT_FOUND',
      });
    });
    const error = await createTestApp({
      imports: [EventsBroadcastingModule.forRoot({ authenticator: Anonymous })],
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MissingPeerDependencyError);
    expect((error as MissingPeerDependencyError).packageName).toBe('socket.io');
    expect((error as Error).message).toContain('EventsBroadcastingModule');
  });
});
