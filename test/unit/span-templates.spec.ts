import { describe, expect, it } from 'vitest';
import { SpanTemplates } from '../../lib/tracing/span-templates.js';

describe('SpanTemplates', () => {
  it('makes span names and creation attributes once and shares them, frozen', () => {
    const templates = new SpanTemplates('redis');
    expect(templates.spanNames('order.created')).toBe(templates.spanNames('order.created'));
    expect(templates.spanNames('order.created')).toEqual({
      send: 'send order.created',
      process: 'process order.created',
    });
    const attempt = templates.attempt('emails', 'L.send');
    expect(templates.attempt('emails', 'L.send')).toBe(attempt);
    expect(Object.isFrozen(attempt)).toBe(true);
    expect(attempt).toEqual({
      'messaging.system': 'redis',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.destination.name': 'emails',
      'nestjs_events.listener': 'L.send',
    });
    expect(templates.send(['emails'], 1)).toBe(templates.send(['emails'], 1));
    expect(templates.send(['emails'], 1)['messaging.batch.message_count']).toBe(1);
  });

  it('follows a listener to another queue, and does not share the attributes of several queues', () => {
    const templates = new SpanTemplates('memory');
    templates.attempt('emails', 'L.send');
    expect(templates.attempt('sms', 'L.send')['messaging.destination.name']).toBe('sms');
    const many = templates.send(['emails', 'sms'], 3);
    expect(many).toMatchObject({
      'messaging.batch.message_count': 3,
      'messaging.destination.name': undefined,
    });
    expect(templates.send(['emails'], 2)['messaging.batch.message_count']).toBe(2);
    expect(templates.send(['emails'], 1)['messaging.batch.message_count']).toBe(1);
  });
});
