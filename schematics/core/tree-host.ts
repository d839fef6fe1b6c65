import type { Tree } from '@angular-devkit/schematics';
import type { FileHost } from './file-host.js';

/** A schematic's Tree as the generators' file host (paths from the workspace root). */
export function treeHost(tree: Tree): FileHost {
  return {
    exists: (path) => tree.exists(path),
    read: (path) => tree.read(path)?.toString('utf8'),
    list: (dir) => {
      const entry = tree.getDir(dir === '' ? '/' : dir);
      return { files: [...entry.subfiles], dirs: [...entry.subdirs] };
    },
    write: (path, content) => {
      if (tree.exists(path)) tree.overwrite(path, content);
      else tree.create(path, content);
    },
  };
}
