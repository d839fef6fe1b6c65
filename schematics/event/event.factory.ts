import type { Rule } from '@angular-devkit/schematics';
import { joinPath } from '../core/file-host.js';
import { generateEvent } from '../core/generators.js';
import { treeHost } from '../core/tree-host.js';

/** Options of `nest g -c nestjs-events event`. */
export interface EventSchematicOptions {
  readonly name: string;
  readonly eventName?: string;
  readonly path?: string;
  readonly sourceRoot?: string;
  readonly force?: boolean;
}

/** `nest g -c nestjs-events event OrderShipped [--event-name order.shipped]` */
export function event(options: EventSchematicOptions): Rule {
  return (tree) => {
    generateEvent(treeHost(tree), {
      className: options.name,
      eventName: options.eventName,
      path: joinPath(options.sourceRoot ?? 'src', options.path ?? ''),
      force: options.force,
    });
    return tree;
  };
}
