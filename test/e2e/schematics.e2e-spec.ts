import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tree } from '@angular-devkit/schematics';
import { SchematicTestRunner, type UnitTestTree } from '@angular-devkit/schematics/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuiltCli } from '../support/cli-runner.js';
import {
  APP_MODULE,
  createGeneratedProject,
  typecheckProject,
} from '../support/generated-project.js';

const collection = fileURLToPath(new URL('../../dist/schematics/collection.json', import.meta.url));

// The collection as `nest g -c nestjs-events` runs it: the built factories, through the
// schematics' own test runner; the tree it returns is written to a project and type-checked.
describe('schematics: nest g -c nestjs-events event | listener', { timeout: 120_000 }, () => {
  let runner: SchematicTestRunner;
  let project: string | undefined;

  beforeAll(() => {
    ensureBuiltCli();
    runner = new SchematicTestRunner('nestjs-events', collection);
  }, 240_000);
  afterAll(() => {
    if (project) rmSync(project, { recursive: true, force: true });
  });

  function workspace(): Tree {
    const tree = Tree.empty();
    tree.create('package.json', '{ "type": "module" }\n');
    tree.create('src/app.module.ts', APP_MODULE);
    return tree;
  }

  it('event and listener write the files, add the provider to the module, and compile', async () => {
    let tree: UnitTestTree = await runner.runSchematic(
      'event',
      { name: 'OrderShipped', eventName: 'orders.shipped' },
      workspace(),
    );
    expect(tree.readContent('/src/order-shipped.event.ts')).toContain(
      "static readonly eventName = 'orders.shipped';",
    );
    tree = await runner.runSchematic(
      'listener',
      { name: 'SendOrderConfirmation', event: 'OrderShipped', queued: true, path: 'mail' },
      tree,
    );
    expect(tree.files.sort()).toEqual([
      '/package.json',
      '/src/app.module.ts',
      '/src/mail/send-order-confirmation.listener.spec.ts',
      '/src/mail/send-order-confirmation.listener.ts',
      '/src/order-shipped.event.ts',
    ]);
    const listener = tree.readContent('/src/mail/send-order-confirmation.listener.ts');
    expect(listener).toContain("@ShouldQueue({ tries: 3, onFailed: 'onFailed' })");
    expect(listener).toContain('onFailed(event: EventEnvelope<OrderShipped>, error: unknown)');
    expect(tree.readContent('/src/app.module.ts')).toContain('providers: [SendOrderConfirmation]');

    project = createGeneratedProject();
    for (const file of tree.files) {
      if (file === '/package.json') continue;
      mkdirSync(dirname(join(project, file)), { recursive: true });
      writeFileSync(join(project, file), tree.readContent(file));
    }
    const tsc = await typecheckProject(project);
    expect(tsc.output).toBe('');
    expect(tsc.code).toBe(0);
  });

  it("event adds its entry to the project's typed event map, once, with a type import", async () => {
    const tree = workspace();
    tree.create(
      'src/types/events.ts',
      "import type { Plain } from '../plain.js';\n\n" +
        "declare module 'nestjs-events' {\n" +
        '  interface EventMap {\n' +
        "    'plain.done': Plain;\n" +
        '  }\n' +
        '}\n',
    );
    let out = await runner.runSchematic('event', { name: 'OrderShipped', path: 'orders' }, tree);
    const map = out.readContent('/src/types/events.ts');
    expect(map).toBe(
      "import type { Plain } from '../plain.js';\n" +
        "import type { OrderShipped } from '../orders/order-shipped.event.js';\n\n" +
        "declare module 'nestjs-events' {\n" +
        '  interface EventMap {\n' +
        "    'plain.done': Plain;\n" +
        "    'order.shipped': OrderShipped;\n" +
        '  }\n' +
        '}\n',
    );
    out = await runner.runSchematic(
      'event',
      { name: 'OrderShipped', path: 'orders', force: true },
      out,
    );
    expect(out.readContent('/src/types/events.ts')).toBe(map);
    // No map in the project: nothing but the event file.
    const plain = await runner.runSchematic('event', { name: 'OrderShipped' }, workspace());
    expect(plain.files.sort()).toEqual([
      '/package.json',
      '/src/app.module.ts',
      '/src/order-shipped.event.ts',
    ]);
  });

  it('refuses a class name that is not PascalCase and an existing file without force', async () => {
    await expect(
      runner.runSchematic('event', { name: 'order_shipped' }, workspace()),
    ).rejects.toThrow(/PascalCase/);
    const tree = await runner.runSchematic('event', { name: 'OrderShipped' }, workspace());
    await expect(runner.runSchematic('event', { name: 'OrderShipped' }, tree)).rejects.toThrow(
      /exists: pass --force/,
    );
    const forced = await runner.runSchematic('event', { name: 'OrderShipped', force: true }, tree);
    expect(forced.readContent('/src/order-shipped.event.ts')).toContain("'order.shipped'");
  });
});
