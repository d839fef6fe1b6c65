import type { INestApplicationContext, ModuleMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { EventsModule, type EventsModuleOptions } from 'nestjs-events';

/** Builds and initialises an app as a user would: EventsModule.forRoot plus the given providers. */
export async function createTestApp(
  metadata: ModuleMetadata,
  options: EventsModuleOptions = {},
): Promise<INestApplicationContext> {
  const moduleRef = await Test.createTestingModule({
    ...metadata,
    imports: [EventsModule.forRoot(options), ...(metadata.imports ?? [])],
  }).compile();
  try {
    return await moduleRef.init();
  } catch (error) {
    // A boot that fails is closed, as a process that exits would be: nothing of it (connections,
    // timers, the EventFacade registration) outlives it into the next test.
    await moduleRef.close().catch(() => undefined);
    throw error;
  }
}
