/**
 * A generator refused its input (a class name that is not PascalCase, an invalid event name, a
 * file that exists without `force`): exit code 2 on the command line.
 *
 * Shaped like the library's `EventsError` (a stable `code`) but not a subclass: the Nest CLI
 * loads schematics with `require()`, and the library's module graph holds a top-level `await`
 * (the optional `@nestjs/microservices` peer), which `require()` cannot load.
 */
export class GeneratorInputError extends Error {
  readonly code = 'EVENTS_GENERATOR_INPUT';

  constructor(message: string) {
    super(message);
    this.name = 'GeneratorInputError';
  }
}
