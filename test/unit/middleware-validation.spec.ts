import { describe, expect, it } from 'vitest';
import {
  EventValidationError,
  InvalidOptionError,
  ValidateEvent,
  WithoutOverlapping,
  type EventBus,
} from 'nestjs-events';
import {
  EventValidators,
  flattenClassValidatorErrors,
} from '../../lib/middleware/event-validators.js';

class Plain {
  static readonly eventName = 'plain.event';
}

describe('EventValidators', () => {
  it('normalizes what validators return and lists every violation', () => {
    const validators = new EventValidators();
    validators.add('a.b', () => ['too short', { path: 'x.y', message: 'missing' }]);
    validators.add('a.b', () => false);
    validators.add('a.b', () => true);
    validators.add('a.b', () => undefined);
    const error = (() => {
      try {
        validators.checkNamed('a.b', {});
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(EventValidationError);
    expect((error as EventValidationError).violations).toEqual([
      { path: '', message: 'too short' },
      { path: 'x.y', message: 'missing' },
      { path: '', message: 'refused by its validator' },
    ]);
    expect((error as Error).message).toBe(
      'The payload of "a.b" is invalid (3 violations): too short; x.y: missing; refused by its validator.',
    );
  });

  it('refuses a validator that returns something else, naming the event', () => {
    const validators = new EventValidators();
    validators.add('a.b', () => 'nope' as never);
    expect(() => validators.checkNamed('a.b', {})).toThrow(InvalidOptionError);
    expect(() => validators.checkNamed('a.b', {})).toThrow(/validator of "a\.b"/);
    expect(() => validators.add('a.b', 'x' as never)).toThrow(InvalidOptionError);
  });

  it('validates instances by their class decorator, and by name', () => {
    @ValidateEvent((e: Checked) => (e.n > 0 ? [] : [{ path: 'n', message: 'must be positive' }]))
    class Checked {
      static readonly eventName = 'checked.event';
      constructor(readonly n: number) {}
    }
    const validators = new EventValidators();
    expect(() => validators.checkInstance('checked.event', new Checked(1))).not.toThrow();
    expect(() => validators.checkInstance('checked.event', new Checked(0))).toThrow(
      /n: must be positive/,
    );
    expect(() => validators.checkInstance('plain.event', new Plain())).not.toThrow();
    expect(validators.hasNamed).toBe(false);
    const remove = validators.add('plain.event', () => ['no']);
    expect(validators.hasNamed).toBe(true);
    expect(() => validators.checkInstance('plain.event', new Plain())).toThrow(/no/);
    remove();
    expect(validators.hasNamed).toBe(false);
    expect(() => validators.checkInstance('plain.event', new Plain())).not.toThrow();
  });

  it('tells the bus whether any named validator or schema exists, as they come and go', () => {
    const validators = new EventValidators();
    const schema = {
      '~standard': { version: 1, vendor: 'test', validate: (value: unknown) => ({ value }) },
    };
    const removeSchema = validators.add('a.event', schema as never);
    expect(validators.hasNamed).toBe(true);
    const removeValidator = validators.add('b.event', () => []);
    removeSchema();
    expect(validators.hasNamed).toBe(true);
    removeValidator();
    expect(validators.hasNamed).toBe(false);
  });

  it('ValidateEvent refuses a validator that is not a function', () => {
    expect(() => ValidateEvent('x' as never)).toThrow(InvalidOptionError);
  });

  it('flattens class-validator errors with nested paths', () => {
    expect(
      flattenClassValidatorErrors([
        { property: 'email', constraints: { isEmail: 'email must be an email' } },
        {
          property: 'address',
          children: [
            {
              property: 'zip',
              constraints: { length: 'zip is too short', isNumeric: 'zip must be numeric' },
            },
          ],
        },
      ]),
    ).toEqual([
      { path: 'email', message: 'email must be an email' },
      { path: 'address.zip', message: 'zip is too short' },
      { path: 'address.zip', message: 'zip must be numeric' },
    ]);
  });
});

describe('public generic types', () => {
  it('type the validator payload, around results and middleware keys', () => {
    // Type-level checks only: these functions are compiled, never called.
    const checks = (bus: EventBus) => {
      bus.addValidator<{ total: number }>('order.created', (data) => data.total >= 0);
      // @ts-expect-error the payload type flows into the validator
      bus.addValidator<{ total: number }>('order.created', (data) => data.missing === 1);
      const saved: Promise<{ id: string }> = bus.around('user.save', { n: 1 }, () => ({ id: 'u' }));
      // @ts-expect-error the action's result type is around's result type
      const wrong: Promise<string> = bus.around('user.save', {}, async () => 42);
      // @ts-expect-error a key function returns a string
      WithoutOverlapping(() => 42, { leaseMs: 10 });
      return [saved, wrong];
    };
    expect(typeof checks).toBe('function');
  });
});
