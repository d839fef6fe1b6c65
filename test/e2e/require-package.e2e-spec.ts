import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

// A preload that makes `@nestjs/microservices` unresolvable for `require`, as when the optional
// peer is not installed.
const WITHOUT_MICROSERVICES = `
const Module = require('node:module');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === '@nestjs/microservices') {
    throw Object.assign(new Error("Cannot find module '@nestjs/microservices'"), { code: 'MODULE_NOT_FOUND' });
  }
  return resolve.call(this, request, ...rest);
};
`;

// The Nest CLI loads schematics (and so the package) with `require`: a top-level await anywhere in
// the library's module graph makes that fail with ERR_REQUIRE_ASYNC_MODULE. The library is built
// fresh (never a stale dist/) into a temporary package that resolves the repository's modules.
describe('require() of the built package', { timeout: 120_000 }, () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'events-require-'));
    execFileSync(
      process.execPath,
      [
        join(root, 'node_modules/typescript/bin/tsc'),
        '-p',
        join(root, 'tsconfig.build.json'),
        '--outDir',
        join(dir, 'dist'),
        '--declaration',
        'false',
        '--sourceMap',
        'false',
        '--inlineSources',
        'false',
      ],
      { cwd: root, stdio: 'pipe' },
    );
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    writeFileSync(join(dir, 'without-microservices.cjs'), WITHOUT_MICROSERVICES);
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  }, 240_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function node(...args: string[]) {
    return spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8' });
  }

  it('loads with require, its microservices classes included', () => {
    const run = node(
      '-e',
      `const m = require('./dist/index.js');
       console.log(typeof m.EventsModule, typeof m.EventsServer, typeof new m.EventsServer({}).listen);`,
    );
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('function function function');
  });

  it('still loads without @nestjs/microservices, and EventsServer names the package', () => {
    const run = node(
      '-r',
      './without-microservices.cjs',
      '-e',
      `const m = require('./dist/index.js');
       try { new m.EventsServer({}); } catch (error) { console.log(error.name, error.message); }`,
    );
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/MissingPeerDependencyError .*@nestjs\/microservices/);
  });
});
