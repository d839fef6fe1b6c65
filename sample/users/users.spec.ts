import { Test, type TestingModule } from '@nestjs/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventFacade, EventValidationError } from 'nestjs-events';
import { AppModule } from '../app.module.js';
import { UsersService } from './users.service.js';

// How an application tests an action wrapped in bus.around: fake the events, act, assert.
describe('UsersService.save', () => {
  let app: TestingModule;
  let users: UsersService;

  beforeEach(async () => {
    app = await Test.createTestingModule({ imports: [AppModule] }).compile();
    await app.init();
    users = app.get(UsersService);
    EventFacade.fake();
  });

  afterEach(async () => {
    EventFacade.restore();
    await app.close();
  });

  it('emits user.save.before, then user.save.after with the saved user', async () => {
    const saved = await users.save({ email: 'grace@example.test', name: 'Grace' });
    EventFacade.assertDispatched('user.save.before', (e) => e.data.email === 'grace@example.test');
    // Typed by the sample's event map (sample/event-map.ts): e.data.result is a SavedUser.
    EventFacade.assertDispatched('user.save.after', (e) => e.data.result.id === saved.id);
    EventFacade.assertNotDispatched('user.save.failed');
  });

  it('refuses an invalid user.registered payload at emit', async () => {
    await expect(users.registerRaw('u-9', 'nope')).rejects.toThrow(EventValidationError);
    EventFacade.assertNotDispatched('user.registered');
  });
});
