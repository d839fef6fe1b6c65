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
  return moduleRef.init();
}
