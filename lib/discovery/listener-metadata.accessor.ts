import { Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  ON_EVENT_METADATA,
  SHOULD_QUEUE_METADATA,
  USE_EVENT_MIDDLEWARE_METADATA,
} from '../events.constants.js';
import type { OnEventMetadata } from '../decorators/on-event.decorator.js';
import type { ShouldQueueOptions } from '../decorators/should-queue.decorator.js';
import type { EventMiddlewareRef } from '../middleware/event-middleware.interface.js';

/** The one reader of this library's decorator metadata. */
@Injectable()
export class ListenerMetadataAccessor {
  constructor(private readonly reflector: Reflector) {}

  onEvent(method: Function): readonly OnEventMetadata[] | undefined {
    return this.reflector.get<OnEventMetadata[] | undefined>(ON_EVENT_METADATA, method);
  }

  /** `@ShouldQueue` of the method, else of the class. */
  shouldQueue(classRef: Function, method: Function): ShouldQueueOptions | undefined {
    return (
      this.reflector.get<ShouldQueueOptions | undefined>(SHOULD_QUEUE_METADATA, method) ??
      this.reflector.get<ShouldQueueOptions | undefined>(SHOULD_QUEUE_METADATA, classRef)
    );
  }

  /** Whether the method itself (not its class) carries `@ShouldQueue`. */
  hasOwnShouldQueue(method: Function): boolean {
    return this.reflector.get(SHOULD_QUEUE_METADATA, method) !== undefined;
  }

  /** Middleware of the class, then of the method. */
  middleware(classRef: Function, method: Function): EventMiddlewareRef[] {
    return [
      ...(this.reflector.get<EventMiddlewareRef[] | undefined>(
        USE_EVENT_MIDDLEWARE_METADATA,
        classRef,
      ) ?? []),
      ...(this.reflector.get<EventMiddlewareRef[] | undefined>(
        USE_EVENT_MIDDLEWARE_METADATA,
        method,
      ) ?? []),
    ];
  }
}
