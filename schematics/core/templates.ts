/** The text of the files the generators write. */

/** A class event: the name is explicit, never derived from the (minifiable) class name. */
export function eventTemplate(className: string, eventName: string): string {
  return `/** The \`${eventName}\` event. Emit it with \`bus.emit(new ${className}(...))\`. */
export class ${className} {
  static readonly eventName = '${eventName}';

  constructor(readonly id: string) {}
}
`;
}

/** A listener provider; queued ones carry `@ShouldQueue` and an `onFailed` hook. */
export function listenerTemplate(
  names: { listener: string; event: string },
  eventImport: string,
  queued: boolean,
  queue: string | undefined,
): string {
  const { listener, event } = names;
  const decorators = queued
    ? `  @OnEvent(${event})
  @ShouldQueue({ ${queue === undefined ? '' : `queue: '${queue}', `}tries: 3, onFailed: 'onFailed' })
`
    : `  @OnEvent(${event})
`;
  const failed = queued
    ? `
  /** Runs once, after the last attempt failed (the job is then in the dead letters). */
  onFailed(event: EventEnvelope<${event}>, error: unknown): void {
    this.logger.error(\`\${event.name} \${event.data.id} failed: \${String(error)}\`);
  }
`
    : '';
  return `import { Injectable${queued ? ', Logger' : ''} } from '@nestjs/common';
import { OnEvent, ${queued ? 'ShouldQueue, ' : ''}type EventEnvelope } from 'nestjs-events';
import { ${event} } from '${eventImport}';

@Injectable()
export class ${listener} {
${queued ? `  private readonly logger = new Logger(${listener}.name);\n\n` : ''}${decorators}  async handle(event: EventEnvelope<${event}>): Promise<void> {
    void event.data;
  }
${failed}}
`;
}

/** The listener's spec: it is wired to the event, and emitting the event is recorded. */
export function listenerSpecTemplate(
  names: { listener: string; event: string },
  eventImport: string,
  listenerImport: string,
): string {
  const { listener, event } = names;
  return `import { Test, type TestingModule } from '@nestjs/testing';
import { EventBus, EventFacade, EventsModule } from 'nestjs-events';
import { ${event} } from '${eventImport}';
import { ${listener} } from '${listenerImport}';

describe('${listener}', () => {
  let app: TestingModule;

  beforeEach(async () => {
    app = await Test.createTestingModule({
      imports: [EventsModule.forRoot()],
      providers: [${listener}],
    }).compile();
    await app.init();
  });

  afterEach(async () => {
    EventFacade.restore();
    await app.close();
  });

  it('listens to ${event}', () => {
    EventFacade.assertListening(${event}, ${listener}, 'handle');
  });

  it('records ${event} when faked', async () => {
    EventFacade.fake(app);
    await app.get(EventBus).emit(new ${event}('1'));
    EventFacade.assertDispatched(${event}, (e) => e.data.id === '1');
  });
});
`;
}
