import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuiltCli, runCli } from '../support/cli-runner.js';
import {
  createGeneratedProject,
  testProject,
  typecheckProject,
} from '../support/generated-project.js';

describe('nestjs-events CLI: make:event and make:listener', { timeout: 180_000 }, () => {
  let project: string;
  const cli = (...args: string[]) => runCli([...args, '--project', project]);

  beforeAll(() => {
    ensureBuiltCli();
    project = createGeneratedProject();
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

    const tsc = await typecheckProject(project);
    expect(tsc.output).toBe('');
    expect(tsc.code).toBe(0);
    const specs = await testProject(project);
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

  it("make:event adds the event to the project's typed event map; the project still compiles", async () => {
    const mapFile = join(project, 'src/event-map.ts');
    writeFileSync(
      mapFile,
      "import type { OrderShipped } from './order-shipped.event.js';\n\n" +
        "declare module 'nestjs-events' {\n  interface EventMap {\n" +
        "    'order.shipped': OrderShipped;\n  }\n}\n",
    );
    const run = await cli('make:event', 'ParcelLost', '--path', 'src/parcels');
    expect(run).toMatchObject({
      code: 0,
      stdout: 'CREATE src/parcels/parcel-lost.event.ts\nUPDATE src/event-map.ts\n',
    });
    const map = readFileSync(mapFile, 'utf8');
    expect(map).toContain("import type { ParcelLost } from './parcels/parcel-lost.event.js';");
    expect(map).toContain(
      "    'order.shipped': OrderShipped;\n    'parcel.lost': ParcelLost;\n  }",
    );
    const again = await cli('make:event', 'ParcelLost', '--path', 'src/parcels', '--force');
    expect(again.stdout).toBe('OVERWRITE src/parcels/parcel-lost.event.ts\n');
    expect(readFileSync(mapFile, 'utf8')).toBe(map);
    const tsc = await typecheckProject(project);
    expect(tsc.output).toBe('');
    expect(tsc.code).toBe(0);
  });
});
