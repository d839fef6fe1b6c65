import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuiltCli, runCli } from '../support/cli-runner.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Runs a node script to its end: exit code and output. */
function runNode(args: string[], cwd: string): Promise<{ code: number; output: string }> {
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

const APP_MODULE = `import { Module } from '@nestjs/common';

@Module({
  imports: [],
  providers: [],
})
export class AppModule {}
`;

// A project of its own inside the repository (so that @nestjs/* and vitest resolve from its
// node_modules), with `nestjs-events` mapped to the build: the generated files must compile
// with tsc and their spec must pass, as in a user's project.
describe('nestjs-events CLI: make:event and make:listener', { timeout: 180_000 }, () => {
  let project: string;
  const cli = (...args: string[]) => runCli([...args, '--project', project]);

  beforeAll(() => {
    ensureBuiltCli();
    mkdirSync(join(root, '.generated'), { recursive: true });
    project = mkdtempSync(join(root, '.generated', 'project-'));
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
  }, 240_000);
  afterAll(() => {
    if (project) rmSync(project, { recursive: true, force: true });
  });

  it('writes an event, a queued and an in-process listener with specs; they compile and pass', async () => {
    const event = await cli('make:event', 'OrderShipped');
    expect(event).toMatchObject({ code: 0, stdout: 'CREATE src/order-shipped.event.ts\n' });
    expect(readFileSync(join(project, 'src/order-shipped.event.ts'), 'utf8')).toContain(
      "static readonly eventName = 'order.shipped';",
    );
    const named = await cli('make:event', 'InvoicePaid', '--name', 'billing.invoice.paid');
    expect(named.code).toBe(0);
    expect(readFileSync(join(project, 'src/invoice-paid.event.ts'), 'utf8')).toContain(
      "eventName = 'billing.invoice.paid'",
    );

    const queued = await cli(
      'make:listener',
      'SendOrderConfirmation',
      '--event',
      'OrderShipped',
      '--queue',
      'emails',
      '--path',
      'src/orders',
    );
    expect(queued.code).toBe(0);
    expect(queued.stdout).toBe(
      'CREATE src/orders/send-order-confirmation.listener.ts\n' +
        'CREATE src/orders/send-order-confirmation.listener.spec.ts\n' +
        'UPDATE src/app.module.ts\n',
    );
    const listener = readFileSync(
      join(project, 'src/orders/send-order-confirmation.listener.ts'),
      'utf8',
    );
    expect(listener).toContain('@OnEvent(OrderShipped)');
    expect(listener).toContain("@ShouldQueue({ queue: 'emails', tries: 3, onFailed: 'onFailed' })");
    expect(listener).toContain("from '../order-shipped.event.js'");
    const inProcess = await cli('make:listener', 'AuditShipments', '--event', 'OrderShipped');
    expect(inProcess.code).toBe(0);
    expect(readFileSync(join(project, 'src/audit-shipments.listener.ts'), 'utf8')).not.toContain(
      'ShouldQueue',
    );
    const module = readFileSync(join(project, 'src/app.module.ts'), 'utf8');
    expect(module).toContain(
      "import { SendOrderConfirmation } from './orders/send-order-confirmation.listener.js';",
    );
    expect(module).toContain("import { AuditShipments } from './audit-shipments.listener.js';");
    expect(module).toMatch(/providers: \[SendOrderConfirmation, AuditShipments\]/);

    const tsc = await runNode(
      [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'],
      project,
    );
    expect(tsc.output).toBe('');
    expect(tsc.code).toBe(0);
    const specs = await runNode(
      [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--root', project],
      project,
    );
    expect(specs.output).toMatch(/Tests\s+4 passed/);
    expect(specs.code).toBe(0);
  });

  it('refuses to overwrite without --force, bad class and event names, unknown events (exit 2)', async () => {
    await cli('make:event', 'OrderPlaced');
    const again = await cli('make:event', 'OrderPlaced');
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('src/order-placed.event.ts exists: pass --force');
    expect((await cli('make:event', 'OrderPlaced', '--force')).stdout).toBe(
      'OVERWRITE src/order-placed.event.ts\n',
    );
    const [camel, badName, wildcard, noEvent] = await Promise.all([
      cli('make:event', 'orderPlaced'),
      cli('make:event', 'OrderLost', '--name', 'order..lost'),
      cli('make:event', 'OrderLost', '--name', 'order.*'),
      cli('make:listener', 'Ghost', '--event', 'NoSuchEvent'),
    ]);
    expect(camel.code).toBe(2);
    expect(camel.stderr).toContain('PascalCase');
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain('dot-separated');
    expect(wildcard.code).toBe(2);
    expect(noEvent.code).toBe(2);
    expect(noEvent.stderr).toContain('no-such-event.event.ts is nowhere');
  });
});
