import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { EventsModuleOptions } from './events.options.js';

/** DI token of the raw options given to `forRoot` / `forRootAsync`. */
export const EVENTS_MODULE_OPTIONS = Symbol('EVENTS_MODULE_OPTIONS');

export const { ConfigurableModuleClass, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } =
  new ConfigurableModuleBuilder<EventsModuleOptions>({
    optionsInjectionToken: EVENTS_MODULE_OPTIONS,
  })
    .setClassMethodName('forRoot')
    .setExtras({ isGlobal: true }, (definition, extras) => ({
      ...definition,
      global: extras.isGlobal,
    }))
    .build();
