import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { readMarkdownBlocks, readTypeScriptBlocks, type MarkdownBlock } from './readme-blocks.js';
import { checkSnippets } from './snippet-compiler.js';

// Every ```ts block of the README compiles as written, against lib/ (as `nestjs-events`) and with
// the tsconfig the README's "Setting up a project" section gives users. A fragment may omit the
// imports of names from nestjs-events, @nestjs/common and @nestjs/microservices; anything else it
// assumes is declared in a `<!-- snippet-context: ... -->` comment right above it (see
// readme-blocks.ts and snippet-compiler.ts).

const root = (path: string): string => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const readme = readFileSync(root('README.md'), 'utf8');

/** The `compilerOptions` of the README's tsconfig.json block (in "Setting up a project"). */
function readmeCompilerOptions(): Record<string, unknown> {
  const block = readMarkdownBlocks(readme).find(
    (b) =>
      b.heading === 'Setting up a project' &&
      /^jsonc?$/.test(b.lang) &&
      b.code.includes('"compilerOptions"'),
  );
  if (!block) throw new Error('README.md: no tsconfig.json block under "Setting up a project"');
  const { config, error } = ts.parseConfigFileTextToJson('tsconfig.json', block.code);
  if (error) throw new Error(ts.flattenDiagnosticMessageText(error.messageText, '\n'));
  return (config as { compilerOptions: Record<string, unknown> }).compilerOptions;
}

const blocks = readTypeScriptBlocks(readme);
let diagnostics: Map<MarkdownBlock, string[]> | undefined;

function diagnosticsOf(block: MarkdownBlock): string[] {
  // One Program for all blocks, built by the first test that asks (a beforeAll would also run it
  // when a single test is filtered out).
  diagnostics ??= checkSnippets(blocks, {
    cacheDir: root('node_modules/.cache/readme-snippets'),
    libraryEntry: root('lib/index.ts'),
    compilerOptions: readmeCompilerOptions(),
  });
  return diagnostics.get(block) ?? [];
}

describe('README TypeScript blocks compile as written', () => {
  it('finds the blocks', () => {
    expect(blocks.length).toBeGreaterThan(15);
  });

  it.each(blocks.map((block) => [`${block.heading} (README.md:${block.line})`, block] as const))(
    '%s',
    (_name, block) => {
      const problems = diagnosticsOf(block);
      // The message lists each problem in full, one per line, at its README line and column.
      expect(problems, `\n${problems.join('\n')}\n`).toEqual([]);
    },
    60_000,
  );
});
