import { joinPath, type FileHost } from './file-host.js';

/** A file that augments the library's `EventMap` (`declare module 'nestjs-events'`). */
const AUGMENTS = /declare\s+module\s+['"]nestjs-events['"]\s*\{/;
const EVENT_MAP = /\binterface\s+EventMap\b[^{]*\{/g;

/**
 * The project's typed event map: the first `.ts` file (breadth first, by name) under the project
 * that declares `interface EventMap` inside `declare module 'nestjs-events'`. Undefined when the
 * project has none (untyped mode: nothing to add).
 */
export function findEventMapFile(host: FileHost): string | undefined {
  const queue = [''];
  while (queue.length > 0) {
    const dir = queue.shift() as string;
    const { files, dirs } = host.list(dir);
    for (const file of files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).sort()) {
      const path = joinPath(dir, file);
      const source = host.read(path) ?? '';
      if (AUGMENTS.test(source) && mapBody(source) !== undefined) return path;
    }
    for (const sub of dirs.sort()) {
      if (!['node_modules', 'dist', '.git'].includes(sub)) queue.push(joinPath(dir, sub));
    }
  }
  return undefined;
}

/** The `{` and `}` of `interface EventMap` inside the augmentation block, or undefined. */
function mapBody(source: string): { open: number; close: number } | undefined {
  const block = AUGMENTS.exec(source);
  if (!block) return undefined;
  EVENT_MAP.lastIndex = block.index;
  const found = EVENT_MAP.exec(source);
  if (!found) return undefined;
  const open = found.index + found[0].length - 1;
  let depth = 0;
  for (let i = open; i < source.length; i++) {
    const char = source[i];
    if (char === '{') depth++;
    else if (char === '}' && --depth === 0) return { open, close: i };
    else if (char === "'" || char === '"' || char === '`') {
      // Skip a string (a name such as 'a{b' must not count as a brace).
      const end = source.indexOf(char, i + 1);
      if (end < 0) return undefined;
      i = end;
    }
  }
  return undefined;
}

/**
 * Adds `'<eventName>': <ClassName>;` to the map's interface, and the class's type import;
 * returns the new source, or undefined when the map already has that name (or the file is not
 * one `findEventMapFile` would pick, so it is left as it is).
 */
export function addEventMapEntry(
  source: string,
  eventName: string,
  className: string,
  specifier: string,
): string | undefined {
  const body = mapBody(source);
  if (!body) return undefined;
  const inner = source.slice(body.open + 1, body.close);
  const quoted = new RegExp(`['"]${eventName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}['"]\\s*:`);
  if (quoted.test(inner)) return undefined;
  const lineStart = source.lastIndexOf('\n', body.open) + 1;
  const outer = /^[ \t]*/.exec(source.slice(lineStart))?.[0] ?? '';
  const entryIndent = /\n([ \t]+)\S/.exec(inner)?.[1] ?? `${outer}  `;
  const entry = `${entryIndent}'${eventName}': ${className};\n`;
  const content = inner.replace(/\s*$/, '');
  const edited =
    source.slice(0, body.open + 1) +
    (content.trim() === '' ? '\n' : `${content}\n`) +
    entry +
    outer +
    source.slice(body.close);
  const importLine = `import type { ${className} } from '${specifier}';\n`;
  // Import declarations, side-effect ones (`import 'reflect-metadata';`) included.
  const imports = [...edited.matchAll(/^import\s(?:[\s\S]*?from\s+)?['"][^'"]+['"];?[ \t]*\n/gm)];
  const last = imports.at(-1);
  const at = last ? (last.index ?? 0) + last[0].length : 0;
  return edited.slice(0, at) + importLine + edited.slice(at);
}
