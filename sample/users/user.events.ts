import { EventName, ValidateEvent } from 'nestjs-events';

/** What `UsersService.save` is given. */
export interface NewUser {
  readonly email: string;
  readonly name: string;
}

/** What it stores and returns. */
export interface SavedUser extends NewUser {
  readonly id: string;
}

/** A class event with a validator: `emit` refuses a bad payload before any listener or job. */
@EventName('user.registered')
@ValidateEvent((event: UserRegistered) => [
  ...(event.email.includes('@') ? [] : [{ path: 'email', message: 'must be an email address' }]),
  ...(event.userId ? [] : [{ path: 'userId', message: 'is required' }]),
])
export class UserRegistered {
  constructor(
    readonly userId: string,
    readonly email: string,
  ) {}
}
