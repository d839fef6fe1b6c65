import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { EventValidationError, ListenersFailedError } from 'nestjs-events';
import { UsersService } from './users.service.js';

/** Saves a few users at start-up: one succeeds, one is refused before, one fails during. */
@Injectable()
export class UsersDemo implements OnApplicationBootstrap {
  private readonly logger = new Logger('UsersDemo');

  constructor(private readonly users: UsersService) {}

  async onApplicationBootstrap(): Promise<void> {
    const ada = await this.users.save({ email: 'ada@example.test', name: 'Ada' });
    this.logger.log(`saved ${ada.id} (${ada.email})`);
    await this.users.save({ email: 'bot@mailinator.test', name: 'Bot' }).catch((error: unknown) => {
      if (!(error instanceof ListenersFailedError)) throw error;
      this.logger.log(
        `refused before saving: ${error.failures.map((f) => (f.error as Error).message).join('; ')}`,
      );
    });
    await this.users
      .save({ email: 'ada@example.test', name: 'Ada again' })
      .catch((error: unknown) => {
        this.logger.log(
          `save failed and user.save.failed was emitted: ${(error as Error).message}`,
        );
      });
    await this.users.registerRaw('', 'not-an-email').catch((error: unknown) => {
      if (!(error instanceof EventValidationError)) throw error;
      this.logger.log(
        `refused at emit (${error.code}): ${error.violations.map((v) => `${v.path} ${v.message}`).join(', ')}`,
      );
    });
  }
}
