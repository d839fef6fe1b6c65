// Copies the schematics' JSON (collection and option schemas) beside their compiled factories.
import { cpSync } from 'node:fs';

cpSync('schematics', 'dist/schematics', {
  recursive: true,
  filter: (source) => !source.endsWith('.ts'),
});
