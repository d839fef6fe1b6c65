import { Injectable } from '@nestjs/common';
import { EventBus } from 'nestjs-events';
import { UserRegistered, type NewUser, type SavedUser } from './user.events.js';

/** Saves users between `user.save.before` and `user.save.after` / `user.save.failed`. */
@Injectable()
export class UsersService {
  private readonly users = new Map<string, SavedUser>();

  constructor(private readonly bus: EventBus) {}

  /** `@Before('user.save')` listeners may refuse; `@After` / `@Failed` listeners learn the outcome. */
  save(user: NewUser): Promise<SavedUser> {
    return this.bus.around('user.save', user, async () => {
      if ([...this.users.values()].some((u) => u.email === user.email)) {
        throw new Error(`email ${user.email} is already registered`);
      }
      const saved: SavedUser = { id: `u-${this.users.size + 1}`, ...user };
      this.users.set(saved.id, saved);
      await this.bus.emit(new UserRegistered(saved.id, saved.email));
      return saved;
    });
  }

  /** Emits a payload its validator refuses (to show the error). */
  registerRaw(userId: string, email: string): Promise<unknown> {
    return this.bus.emit(new UserRegistered(userId, email));
  }
}
