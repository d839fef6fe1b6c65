import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** An app module as `nest new` writes it. */
export const APP_MODULE = `import { Module } from '@nestjs/common';

@Module({
  imports: [],
  providers: [],
})
export class AppModule {}
`;

/** Runs a node script to its end: exit code and output (colours stripped). */
export function runNode(args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd, maxBuffer: 10_000_000 }, (error, stdout, stderr) =>
      resolve({
        code: error ? Number(error.code ?? 1) : 0,
        // eslint-disable-next-line no-control-regex
        output: `${stdout}${stderr}`.replace(/\u001b\[[0-9;]*m/g, ''),
      }),
    );
  });
}

/**
 * A project of its own inside the repository's `.generated/` (so that @nestjs/* and vitest
 * resolve from its node_modules), ESM, with `nestjs-events` mapped to the build: what generators
 * write there must compile with tsc and its specs must pass, as in a user's project.
 */
export function createGeneratedProject(): string {
  mkdirSync(join(root, '.generated'), { recursive: true });
  const project = mkdtempSync(join(root, '.generated', 'project-'));
  mkdirSync(join(project, 'src'));
  writeFileSync(join(project, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(join(project, 'src/app.module.ts'), APP_MODULE);
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2023',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        experimentalDecorators: true,
        emitDecoratorMetadata: true,
        skipLibCheck: true,
        noEmit: true,
        types: ['node', 'vitest/globals'],
        paths: { 'nestjs-events': ['../../dist/index.d.ts'] },
      },
      include: ['src'],
    }),
  );
  writeFileSync(
    join(project, 'vitest.config.ts'),
    `import { defineConfig } from 'vitest/config';
export default defineConfig({
  oxc: { decorator: { legacy: true, emitDecoratorMetadata: true } },
  resolve: { alias: { 'nestjs-events': ${JSON.stringify(join(root, 'dist/index.js'))} } },
  test: { globals: true, include: ['src/**/*.spec.ts'], setupFiles: [${JSON.stringify(join(root, 'test/support/setup.ts'))}] },
});
`,
  );
  return project;
}

/** `tsc -p` in the project: its output ('' when clean) and exit code. */
export function typecheckProject(project: string) {
  return runNode([join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], project);
}

/** The project's specs, run by vitest. */
export function testProject(project: string) {
  return runNode([join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--root', project], project);
}
