import type { Rule } from '@angular-devkit/schematics';
import { joinPath } from '../core/file-host.js';
import { generateListener } from '../core/generators.js';
import { treeHost } from '../core/tree-host.js';

/** Options of `nest g -c nestjs-events listener`. */
export interface ListenerSchematicOptions {
  readonly name: string;
  readonly event: string;
  readonly queued?: boolean;
  readonly queue?: string;
  readonly path?: string;
  readonly sourceRoot?: string;
  readonly skipImport?: boolean;
  readonly force?: boolean;
}

/** `nest g -c nestjs-events listener SendOrderConfirmation --event OrderShipped [--queued --queue emails]` */
export function listener(options: ListenerSchematicOptions): Rule {
  return (tree) => {
    generateListener(treeHost(tree), {
      className: options.name,
      event: options.event,
      queued: options.queued,
      queue: options.queue,
      path: joinPath(options.sourceRoot ?? 'src', options.path ?? ''),
      skipImport: options.skipImport,
      force: options.force,
    });
    return tree;
  };
}
