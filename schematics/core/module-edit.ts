import { dirOf, joinPath, type FileHost } from './file-host.js';

/**
 * The module a new provider joins, as `nest g service` finds it: the closest `*.module.ts` in the
 * file's directory or a parent (in one directory: `<dir>.module.ts`, then `app.module.ts`, then the
 * first by name). Undefined when there is none up to the project root.
 */
export function findNearestModule(host: FileHost, file: string): string | undefined {
  let dir = dirOf(file);
  for (;;) {
    const modules = host
      .list(dir)
      .files.filter((f) => f.endsWith('.module.ts'))
      .sort();
    const base = dir.split('/').pop();
    const chosen =
      modules.find((f) => f === `${base}.module.ts`) ??
      modules.find((f) => f === 'app.module.ts') ??
      modules[0];
    if (chosen) return joinPath(dir, chosen);
    if (dir === '') return undefined;
    dir = dirOf(dir);
  }
}

/** The index of the bracket that closes the one at `open`. */
function closingBracket(source: string, open: number): number {
  let depth = 0;
  for (let i = open; i < source.length; i++) {
    if (source[i] === '[') depth++;
    else if (source[i] === ']' && --depth === 0) return i;
  }
  return -1;
}

/**
 * Adds `className` (imported from `specifier`) to the `providers` of the module's `@Module()`;
 * returns the new source, or undefined when the module already provides it or has no `@Module(`.
 */
export function addProvider(
  source: string,
  className: string,
  specifier: string,
): string | undefined {
  const providers = /providers\s*:\s*\[/.exec(source);
  let edited: string;
  if (providers) {
    const open = providers.index + providers[0].length - 1;
    const close = closingBracket(source, open);
    if (close < 0) return undefined;
    const inner = source.slice(open + 1, close);
    if (new RegExp(`\\b${className}\\b`).test(inner)) return undefined;
    const content = inner.replace(/\s*$/, '');
    let list: string;
    if (content.trim() === '') list = className;
    else if (inner.includes('\n')) {
      const indent = /\n([ \t]*)[^\n]*$/.exec(content)?.[1] ?? '    ';
      list = `${content}${content.endsWith(',') ? '' : ','}\n${indent}${className},${inner.slice(content.length)}`;
    } else list = `${content}${content.endsWith(',') ? ' ' : ', '}${className}`;
    edited = source.slice(0, open + 1) + list + source.slice(close);
  } else if (/@Module\(\s*\{/.test(source)) {
    edited = source.replace(/@Module\(\s*\{/, (m) => `${m}\n  providers: [${className}],`);
  } else if (/@Module\(\s*\)/.test(source)) {
    edited = source.replace(/@Module\(\s*\)/, `@Module({ providers: [${className}] })`);
  } else return undefined;
  const importLine = `import { ${className} } from '${specifier}';\n`;
  const imports = [...edited.matchAll(/^import\s[\s\S]*?from\s+['"][^'"]+['"];?[ \t]*\n/gm)];
  const last = imports.at(-1);
  const at = last ? (last.index ?? 0) + last[0].length : 0;
  return edited.slice(0, at) + importLine + edited.slice(at);
}
