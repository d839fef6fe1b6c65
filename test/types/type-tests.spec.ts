import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { readMarkdownBlocks } from '../docs/readme-blocks.js';
import { checkSnippets } from '../docs/snippet-compiler.js';

// The type tests of typed events. Each folder declares its own event map (module augmentation is
// global to a compilation), so each is compiled alone, with the project's compiler options. Any
// diagnostic fails the test, including TS2578 "Unused '@ts-expect-error' directive": a type test
// that cannot fail fails the run.

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
// Library files whose bodies call the typed API: they must compile whatever the map declares.
const libraryFiles = [
  'lib/bus/event-bus.ts',
  'lib/decorators/lifecycle.decorator.ts',
  'lib/store/event-store.ts',
  'lib/store/event-store.types.ts',
  'lib/store/event.replayer.ts',
  'lib/store/aggregate.repository.ts',
  'lib/store/event.recorder.ts',
].map((f) => join(root, f));

function compilerOptions(): ts.CompilerOptions {
  const configPath = join(root, 'tsconfig.json');
  const { config } = ts.readConfigFile(configPath, (p) => ts.sys.readFile(p));
  return ts.parseJsonConfigFileContent(config, ts.sys, root).options;
}

function compile(folder: string): { program: ts.Program; files: string[] } {
  const dir = join(here, folder);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f));
  const program = ts.createProgram({ rootNames: files, options: compilerOptions() });
  return { program, files };
}

function format(diagnostics: readonly ts.Diagnostic[]): string[] {
  return diagnostics.map((d) => {
    const where = d.file
      ? `${relative(root, d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}`
      : '(global)';
    return `${where} TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

function diagnosticsOf(program: ts.Program, fileNames: readonly string[]): ts.Diagnostic[] {
  const out: ts.Diagnostic[] = [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
  ];
  for (const fileName of fileNames) {
    const file = program.getSourceFile(fileName);
    if (!file) throw new Error(`not in the program: ${fileName}`);
    out.push(...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file));
  }
  return out;
}

describe('type tests (compiled with the TypeScript compiler API)', { timeout: 300_000 }, () => {
  it('typed mode: every case of test/types/typed holds and no @ts-expect-error is unused', () => {
    const { program, files } = compile('typed');
    const checked = files.filter((f) => !f.endsWith('.fixture.ts'));
    expect(format(diagnosticsOf(program, [...checked, ...libraryFiles]))).toEqual([]);

    // Representative messages stay readable: they name the map's names and the wrong key,
    // not the type machinery.
    const fixture = files.find((f) => f.endsWith('messages.fixture.ts'));
    const messages = format(diagnosticsOf(program, [fixture as string]));
    expect(messages).toHaveLength(2);
    expect(messages[0]).toContain(`Argument of type '"order.craeted"' is not assignable`);
    expect(messages[0]).toContain(`to parameter of type 'MappedEventName'`);
    for (const message of messages)
      expect(message).not.toMatch(/PatternMatches|Candidates|Filter</);
    expect(messages[1]).toContain(`'idd' does not exist in type '{ id: string; total: number; }'`);
  });

  it('untyped mode: without a map, names are strings and payloads unknown', () => {
    const { program, files } = compile('untyped');
    expect(format(diagnosticsOf(program, [...files, ...libraryFiles]))).toEqual([]);
  });

  it('allowUnmappedNames: mapped names are checked, others pass', () => {
    const { program, files } = compile('unmapped');
    expect(format(diagnosticsOf(program, [...files, ...libraryFiles]))).toEqual([]);
  });

  it('wildcard patterns: the tree walk of NamesMatching agrees with PatternMatches name by name', () => {
    const { program, files } = compile('patterns');
    expect(format(diagnosticsOf(program, files))).toEqual([]);
  });

  it('the sample type-checks with its own event map (sample/tsconfig.json), tests included', () => {
    const configPath = join(root, 'sample', 'tsconfig.json');
    const { config } = ts.readConfigFile(configPath, (p) => ts.sys.readFile(p));
    const parsed = ts.parseJsonConfigFileContent(config, ts.sys, dirname(configPath));
    expect(parsed.fileNames.map((f) => relative(root, f))).toContain('sample/event-map.ts');
    expect(parsed.fileNames.map((f) => relative(root, f))).toContain('sample/orders.spec.ts');
    const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options });
    const sampleFiles = parsed.fileNames.filter((f) => f.startsWith(join(root, 'sample')));
    expect(format(diagnosticsOf(program, sampleFiles))).toEqual([]);
    // The map is what types it: without it, the typed filters and assertions do not compile.
    const untyped = ts.createProgram({
      rootNames: parsed.fileNames.filter((f) => !f.endsWith('event-map.ts')),
      options: parsed.options,
    });
    const withoutMap = format(
      diagnosticsOf(untyped, [join(root, 'sample/orders/order.listeners.ts')]),
    );
    expect(withoutMap.join('\n')).toContain("'e.data' is of type 'unknown'");
  });

  it('the root tsconfig leaves the sample (and its map) out', () => {
    const { config } = ts.readConfigFile(join(root, 'tsconfig.json'), (p) => ts.sys.readFile(p));
    const parsed = ts.parseJsonConfigFileContent(config, ts.sys, root);
    expect(parsed.fileNames.filter((f) => f.includes('/sample/'))).toEqual([]);
  });

  it('the README typed blocks (```ts-typed) compile, each with its own map', () => {
    const blocks = readMarkdownBlocks(readFileSync(join(root, 'README.md'), 'utf8')).filter(
      (b) => b.lang === 'ts-typed',
    );
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    const { config } = ts.readConfigFile(join(root, 'tsconfig.json'), (p) => ts.sys.readFile(p));
    for (const block of blocks) {
      const found = checkSnippets([block], {
        cacheDir: join(root, 'node_modules/.cache/readme-typed'),
        libraryEntry: join(root, 'lib/index.ts'),
        compilerOptions: (config as { compilerOptions: Record<string, unknown> }).compilerOptions,
      });
      expect(found.get(block)).toEqual([]);
    }
  });

  it('the setup catches a type test that cannot fail', () => {
    const file = join(here, 'typed', 'events.ts');
    const host = ts.createCompilerHost(compilerOptions());
    const probe = join(here, 'typed', 'probe.ts');
    const source = `// @ts-expect-error nothing is wrong here\nexport const n: number = 1;\n`;
    const readFile = host.readFile.bind(host);
    const getSourceFile = host.getSourceFile.bind(host);
    host.readFile = (f) => (f === probe ? source : readFile(f));
    host.fileExists = (
      (exists) => (f: string) =>
        f === probe || exists(f)
    )(host.fileExists);
    host.getSourceFile = (f, v, ...rest) =>
      f === probe ? ts.createSourceFile(f, source, v) : getSourceFile(f, v, ...rest);
    const program = ts.createProgram({
      rootNames: [file, probe],
      options: compilerOptions(),
      host,
    });
    expect(format(diagnosticsOf(program, [probe])).join('\n')).toContain(
      "TS2578: Unused '@ts-expect-error' directive",
    );
  });
});
