import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import type { MarkdownBlock } from './readme-blocks.js';

/**
 * Type-checks code blocks as modules of a consumer project, in one TypeScript Program, and maps
 * each diagnostic back to the Markdown line it comes from.
 *
 * Imports convention: a block without `import` declarations is a fragment of a file; it gets
 * imports for the names it uses that `nestjs-events`, `@nestjs/common` or `@nestjs/microservices`
 * export (in that order of precedence), as a reader copying it into a file would add them. A
 * block with its own imports is a whole file and gets none (only its context does).
 */

/** Where the snippets are compiled and how `nestjs-events` resolves. */
export interface SnippetProject {
  /** Folder under which the block files are written (needs the project's node_modules above it). */
  readonly cacheDir: string;
  /** Absolute path of the library's entry file (`lib/index.ts`): `nestjs-events` maps to it. */
  readonly libraryEntry: string;
  /** The `compilerOptions` JSON of the tsconfig a consumer uses (the README's). */
  readonly compilerOptions: Record<string, unknown>;
}

/** The problems found in one block, as `README.md:<line>:<col> TS<code>: <message>` strings. */
export type SnippetDiagnostics = Map<MarkdownBlock, string[]>;

const IMPLICIT_MODULES = ['nestjs-events', '@nestjs/common', '@nestjs/microservices'] as const;

/** Compiles every block in one Program; returns each block's diagnostics (empty when it compiles). */
export function checkSnippets(
  blocks: readonly MarkdownBlock[],
  project: SnippetProject,
  markdownName = 'README.md',
): SnippetDiagnostics {
  mkdirSync(project.cacheDir, { recursive: true });
  const dir = mkdtempSync(join(project.cacheDir, 'snippets-'));
  try {
    // A consumer package is ESM: top-level await and NodeNext resolution as in a real app.
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    const options = compilerOptions(project, dir);
    const host = cachingHost(options);
    const { exportsOf, probe } = implicitExports(dir, options, host);

    const files = blocks.map((block) => {
      const preamble = preambleFor(block, exportsOf);
      const fileName = join(dir, `line-${block.line}.ts`);
      writeFileSync(fileName, preamble + block.code + '\n');
      return { block, fileName, offset: preamble.split('\n').length - 1 };
    });
    const program = ts.createProgram({
      rootNames: files.map((f) => f.fileName),
      options,
      host,
      oldProgram: probe, // reuses its module resolutions
    });
    const global = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()];
    if (global.length > 0) throw new Error(formatHostless(global));

    const result: SnippetDiagnostics = new Map();
    for (const { block, fileName, offset } of files) {
      const sourceFile = program.getSourceFile(fileName);
      if (!sourceFile) throw new Error(`${fileName} is not in the program`);
      const diagnostics = [
        ...program.getSyntacticDiagnostics(sourceFile),
        ...program.getSemanticDiagnostics(sourceFile),
      ];
      result.set(
        block,
        diagnostics.map((d) => located(d, block, offset, markdownName)),
      );
    }
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function compilerOptions(project: SnippetProject, dir: string): ts.CompilerOptions {
  const { options, errors } = ts.convertCompilerOptionsFromJson(project.compilerOptions, dir);
  if (errors.length > 0) throw new Error(formatHostless(errors));
  delete options.outDir;
  delete options.rootDir;
  return {
    ...options,
    noEmit: true,
    paths: {
      'nestjs-events': [project.libraryEntry],
      'nestjs-events/broadcast-client': [
        project.libraryEntry.replace(/index\.ts$/, 'broadcasting/client/broadcast.client.ts'),
      ],
    },
  };
}

/** A host that parses each file once, shared by the two Programs built here. */
function cachingHost(options: ts.CompilerOptions): ts.CompilerHost {
  const host = ts.createCompilerHost(options, true);
  const cache = new Map<string, ts.SourceFile | undefined>();
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
    if (!cache.has(fileName)) {
      cache.set(fileName, getSourceFile(fileName, languageVersion, onError, shouldCreate));
    }
    return cache.get(fileName);
  };
  return host;
}

/** A name a fragment may use without importing it. */
interface ImplicitExport {
  readonly from: string;
  /** A type only (interface, type alias): imported with `type`, as isolatedModules requires. */
  readonly isType: boolean;
}

/** Export name -> where it comes from, for the modules a fragment may use without importing. */
function implicitExports(
  dir: string,
  options: ts.CompilerOptions,
  host: ts.CompilerHost,
): { exportsOf: Map<string, ImplicitExport>; probe: ts.Program } {
  const probeFile = join(dir, 'implicit-exports.ts');
  writeFileSync(
    probeFile,
    IMPLICIT_MODULES.map((m, i) => `import * as m${i} from '${m}';`).join('\n') + '\n',
  );
  const program = ts.createProgram({ rootNames: [probeFile], options, host });
  const checker = program.getTypeChecker();
  const sourceFile = program.getSourceFile(probeFile);
  if (!sourceFile) throw new Error('the implicit-exports probe is not in the program');
  const exportsOf = new Map<string, ImplicitExport>();
  sourceFile.statements.filter(ts.isImportDeclaration).forEach((declaration, i) => {
    const moduleSymbol = checker.getSymbolAtLocation(declaration.moduleSpecifier);
    if (!moduleSymbol) throw new Error(`cannot resolve ${IMPLICIT_MODULES[i]} from the snippets`);
    for (const symbol of checker.getExportsOfModule(moduleSymbol)) {
      if (exportsOf.has(symbol.name)) continue;
      const target =
        symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
      const isType = (target.flags & ts.SymbolFlags.Value) === 0;
      exportsOf.set(symbol.name, { from: IMPLICIT_MODULES[i], isType });
    }
  });
  return { exportsOf, probe: program };
}

function preambleFor(block: MarkdownBlock, exportsOf: ReadonlyMap<string, ImplicitExport>): string {
  const code = parse(block.code);
  const context = parse(block.context);
  const isWholeFile = code.statements.some(ts.isImportDeclaration);
  const declared = new Set([...declaredNames(code), ...declaredNames(context)]);
  const used = isWholeFile
    ? usedNames(context)
    : new Set([...usedNames(code), ...usedNames(context)]);
  const byModule = new Map<string, string[]>();
  for (const name of [...used].sort()) {
    const known = exportsOf.get(name);
    if (!known || declared.has(name)) continue;
    const specifier = known.isType ? `type ${name}` : name;
    byModule.set(known.from, [...(byModule.get(known.from) ?? []), specifier]);
  }
  const imports = [...byModule].map(
    ([from, names]) => `import { ${names.join(', ')} } from '${from}';`,
  );
  return [...imports, block.context].filter((part) => part !== '').join('\n') + '\n';
}

function parse(code: string): ts.SourceFile {
  return ts.createSourceFile('block.ts', code, ts.ScriptTarget.Latest, true);
}

function usedNames(sourceFile: ts.SourceFile): Set<string> {
  const names = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node)) names.add(node.text);
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return names;
}

/** Names a block declares or imports at its top level. */
function declaredNames(sourceFile: ts.SourceFile): Set<string> {
  const names = new Set<string>();
  const addBinding = (name: ts.BindingName): void => {
    if (ts.isIdentifier(name)) names.add(name.text);
    else name.elements.forEach((e) => ts.isBindingElement(e) && addBinding(e.name));
  };
  for (const statement of sourceFile.statements) {
    if (ts.isVariableStatement(statement)) {
      statement.declarationList.declarations.forEach((d) => addBinding(d.name));
    } else if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause;
      if (clause?.name) names.add(clause.name.text);
      const bindings = clause?.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) names.add(bindings.name.text);
      if (bindings && ts.isNamedImports(bindings)) {
        bindings.elements.forEach((e) => names.add(e.name.text));
      }
    } else if (
      (ts.isClassDeclaration(statement) ||
        ts.isFunctionDeclaration(statement) ||
        ts.isInterfaceDeclaration(statement) ||
        ts.isTypeAliasDeclaration(statement) ||
        ts.isEnumDeclaration(statement)) &&
      statement.name
    ) {
      names.add(statement.name.text);
    }
  }
  return names;
}

function located(
  diagnostic: ts.Diagnostic,
  block: MarkdownBlock,
  offset: number,
  markdownName: string,
): string {
  const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
  if (!diagnostic.file || diagnostic.start === undefined) {
    return `${markdownName}:${block.line} TS${diagnostic.code}: ${message}`;
  }
  const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
  if (line < offset) return `(snippet-context) TS${diagnostic.code}: ${message}`;
  return `${markdownName}:${block.line + line - offset}:${character + 1} TS${diagnostic.code}: ${message}`;
}

function formatHostless(diagnostics: readonly ts.Diagnostic[]): string {
  return diagnostics
    .map((d) => `TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`)
    .join('\n');
}
