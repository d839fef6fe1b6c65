import {
  Injectable,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { Observable } from 'rxjs';
import { EventContext } from '../event/event-context.js';
import { SOCKET_ID_METADATA } from './should-broadcast.js';

const SOCKET_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Copies the `X-Socket-Id` request header into the event context: broadcasts caused by the
 * request (its events, their listeners and queued jobs) skip that socket, as Laravel's
 * `toOthers()` does. Installed globally by `EventsBroadcastingModule`.
 */
@Injectable()
export class SocketIdInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const request = context.switchToHttp().getRequest<{ headers?: Record<string, unknown> }>();
    const socketId = request?.headers?.['x-socket-id'];
    if (typeof socketId !== 'string' || !SOCKET_ID.test(socketId)) return next.handle();
    // The handler runs when the observable is subscribed: subscribe inside the context.
    return new Observable((subscriber) =>
      EventContext.run({ [SOCKET_ID_METADATA]: socketId }, () =>
        next.handle().subscribe(subscriber),
      ),
    );
  }
}
