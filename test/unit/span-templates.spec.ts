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
    // One message: no batch count (the messaging conventions).
    expect(templates.send(['emails'], 1)).not.toHaveProperty('messaging.batch.message_count');
  });

  it('follows a listener to another queue, and does not share the attributes of several queues', () => {
    const templates = new SpanTemplates('memory');
    templates.attempt('emails', 'L.send');
    expect(templates.attempt('sms', 'L.send')['messaging.destination.name']).toBe('sms');
    const many = templates.send(['emails', 'sms'], 3);
    expect(many['messaging.batch.message_count']).toBe(3);
    expect(many).not.toHaveProperty('messaging.destination.name');
    expect(templates.send(['emails'], 2)['messaging.batch.message_count']).toBe(2);
    expect(templates.send(['emails'], 1)).not.toHaveProperty('messaging.batch.message_count');
  });
});
