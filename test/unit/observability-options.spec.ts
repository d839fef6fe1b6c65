import { describe, expect, it } from 'vitest';
import { InvalidOptionError, resolveEventsOptions } from 'nestjs-events';

describe('tracing and correlation options', () => {
  it('resolves their defaults', () => {
    const { tracing, correlation } = resolveEventsOptions({});
    expect(tracing).toEqual({
      isEnabled: true,
      isRequired: false,
      tracerName: 'nestjs-events',
      isDetailed: false,
    });
    expect(correlation).toEqual({ header: 'X-Correlation-ID' });
    expect(resolveEventsOptions({ tracing: false }).tracing.isEnabled).toBe(false);
    expect(resolveEventsOptions({ tracing: { tracerName: 'shop' } }).tracing).toEqual({
      isEnabled: true,
      isRequired: true,
      tracerName: 'shop',
      isDetailed: false,
    });
  });

  it('refuses bad values, naming the option', () => {
    expect(() => resolveEventsOptions({ tracing: 'on' as never })).toThrow(InvalidOptionError);
    expect(() => resolveEventsOptions({ tracing: { tracerName: '' } })).toThrow(
      /tracing\.tracerName/,
    );
    expect(() => resolveEventsOptions({ tracing: { sampler: 1 } as never })).toThrow(
      /tracing\.sampler/,
    );
    expect(() => resolveEventsOptions({ correlation: { header: 'x id' } })).toThrow(
      /correlation\.header/,
    );
    expect(() => resolveEventsOptions({ correlation: 'x' as never })).toThrow(/"correlation"/);
  });
});
