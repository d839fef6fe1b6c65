import { describe, expect, it } from 'vitest';
import { addEventMapEntry } from '../../schematics/core/event-map-edit.js';

const header = "declare module 'nestjs-events' {\n";

describe('addEventMapEntry (the generator edit of a typed event map)', () => {
  it('fills an empty map written on one line, after the last import', () => {
    const source = `import 'reflect-metadata';\n\n${header}  interface EventMap {}\n}\n`;
    expect(addEventMapEntry(source, 'order.shipped', 'OrderShipped', './order-shipped.event')).toBe(
      "import 'reflect-metadata';\n" +
        "import type { OrderShipped } from './order-shipped.event';\n\n" +
        header +
        "  interface EventMap {\n    'order.shipped': OrderShipped;\n  }\n}\n",
    );
  });

  it('adds to a map that extends schema types, and skips braces inside quoted names', () => {
    const source =
      `export {};\n${header}  interface EventMap extends EventMapOf<typeof schemas> {\n` +
      "    'odd{name': Odd;\n  }\n}\n";
    const edited = addEventMapEntry(source, 'a.b', 'AB', './a-b.event.js');
    expect(edited).toContain("    'odd{name': Odd;\n    'a.b': AB;\n  }\n}\n");
    expect(edited?.startsWith("import type { AB } from './a-b.event.js';\n")).toBe(true);
  });

  it('leaves a map that has the name (either quotes) or a file without a map alone', () => {
    const mapped = `${header}  interface EventMap {\n    "order.shipped": OrderShipped;\n  }\n}\n`;
    expect(addEventMapEntry(mapped, 'order.shipped', 'OrderShipped', './x')).toBeUndefined();
    expect(addEventMapEntry('interface EventMap {}\n', 'a.b', 'AB', './x')).toBeUndefined();
  });
});
