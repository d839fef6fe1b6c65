import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// The README's configuration tables list every option `EventsModule.forRoot` accepts, with a
// default. The options are read from the sources (syntax only, no Program): the top-level names
// `resolveEventsOptions` accepts, and the properties of the option interfaces they expand into.

const root = (path: string): string => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const parse = (path: string): ts.SourceFile =>
  ts.createSourceFile(path, readFileSync(root(path), 'utf8'), ts.ScriptTarget.Latest, true);

const optionsFile = parse('lib/events.options.ts');
const workerFile = parse('lib/queue/worker.options.ts');
const storeFile = parse('lib/store/event-store.options.ts');
const postgresFile = parse('lib/store/postgres/postgres.event-store.ts');

function statement<T extends ts.Statement>(
  file: ts.SourceFile,
  name: string,
  is: (s: ts.Statement) => s is T,
): T {
  const found = file.statements.find(
    (s): s is T => is(s) && (s as unknown as { name?: ts.Identifier }).name?.text === name,
  );
  if (!found) throw new Error(`${file.fileName}: no declaration ${name}`);
  return found;
}

/** Property names of an interface, with the option interfaces each one expands into. */
function members(file: ts.SourceFile, name: string): [string, string | undefined][] {
  return statement(file, name, ts.isInterfaceDeclaration)
    .members.filter(ts.isPropertySignature)
    .map((p) => [p.name.getText(file), nestedInterface(p.type)]);
}

const NESTED: Record<string, () => [string, string | undefined][]> = {
  WorkerOptions: () => members(workerFile, 'WorkerOptions'),
  QueueDefaults: () => members(workerFile, 'QueueDefaults'),
  EventStoreOptions: () => members(storeFile, 'EventStoreOptions'),
  // Pick<PostgresEventStoreOptions, 'a' | 'b'>: the picked names, each one a property of it.
  PostgresConnectionOptions: () => {
    const alias = statement(storeFile, 'PostgresConnectionOptions', ts.isTypeAliasDeclaration);
    const picked = (alias.type as ts.TypeReferenceNode).typeArguments?.[1];
    const names = picked && ts.isUnionTypeNode(picked) ? picked.types : [];
    const known = new Set(members(postgresFile, 'PostgresEventStoreOptions').map(([n]) => n));
    return names.map((t) => {
      const n = ((t as ts.LiteralTypeNode).literal as ts.StringLiteral).text;
      if (!known.has(n)) throw new Error(`PostgresEventStoreOptions has no ${n}`);
      return [n, undefined];
    });
  },
};

function nestedInterface(type: ts.TypeNode | undefined): string | undefined {
  let found: string | undefined;
  const visit = (node: ts.Node): void => {
    if (ts.isTypeReferenceNode(node) && node.typeName.getText() in NESTED) {
      found = node.typeName.getText();
    }
    ts.forEachChild(node, visit);
  };
  if (type) visit(type);
  return found;
}

interface OptionNode {
  readonly path: string;
  readonly children: OptionNode[];
}

function tree(prefix: string, list: [string, string | undefined][]): OptionNode[] {
  return list.map(([name, nested]) => ({
    path: prefix + name,
    children: nested ? tree(`${prefix}${name}.`, NESTED[nested]()) : [],
  }));
}

/** The top-level names `resolveEventsOptions` accepts (its OPTION_NAMES list). */
function topLevelOptions(): [string, string | undefined][] {
  const list = optionsFile.statements
    .filter(ts.isVariableStatement)
    .flatMap((s) => s.declarationList.declarations)
    .find((d) => d.name.getText(optionsFile) === 'OPTION_NAMES')?.initializer;
  const array = list && ts.isAsExpression(list) ? list.expression : list;
  if (!array || !ts.isArrayLiteralExpression(array)) throw new Error('OPTION_NAMES moved');
  const typed = new Map(members(optionsFile, 'EventsModuleOptions'));
  return array.elements.map((e) => {
    const name = (e as ts.StringLiteral).text;
    return [name, typed.get(name)];
  });
}

/** `option` cell -> `default` cell of every row of the README's "## Configuration" tables. */
function documentedOptions(): Map<string, string> {
  const readme = readFileSync(root('README.md'), 'utf8');
  const start = readme.indexOf('\n## Configuration\n');
  const end = readme.indexOf('\n## ', start + 1);
  const rows = new Map<string, string>();
  for (const table of readme.slice(start, end).split('\n\n')) {
    const lines = table.split('\n').filter((l) => l.startsWith('|'));
    if (lines.length < 3) continue;
    const header = lines[0].split('|').map((c) => c.trim());
    const defaultColumn = header.indexOf('default');
    for (const line of lines.slice(2)) {
      const cells = line.split('|').map((c) => c.trim());
      const name = /^`([\w.]+)`$/.exec(cells[1])?.[1];
      if (name) rows.set(name, cells[defaultColumn] ?? '');
    }
  }
  return rows;
}

describe('README configuration tables', () => {
  const documented = documentedOptions();
  const options = tree('', topLevelOptions());

  /** The options with neither a row of their own nor rows for all their sub-options. */
  const missing = (nodes: OptionNode[]): string[] =>
    nodes.flatMap((node) => {
      if (documented.has(node.path)) return missing(node.children);
      if (node.children.length === 0) return [node.path];
      const below = missing(node.children);
      return below.length === 0 ? [] : [node.path, ...below];
    });

  it('lists every forRoot option (or all its sub-options)', () => {
    expect(options.map((o) => o.path)).toContain('store');
    expect(missing(options)).toEqual([]);
  });

  it('gives every listed option a default', () => {
    const withoutDefault = [...documented].filter(([, d]) => d === '').map(([name]) => name);
    expect(withoutDefault).toEqual([]);
  });
});
