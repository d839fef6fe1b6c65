/** The files a generator reads and writes: the disk for the CLI, the schematic's Tree for Nest. */
export interface FileHost {
  /** Whether the file exists (paths are relative to the project root, `/`-separated). */
  exists(path: string): boolean;
  read(path: string): string | undefined;
  /** The entries of a directory (files and sub-directories), or [] when there is none. */
  list(dir: string): { files: string[]; dirs: string[] };
  /** Creates or replaces the file. */
  write(path: string, content: string): void;
}

/** A path joined with `/`, without `./` or duplicate slashes. */
export function joinPath(...parts: string[]): string {
  return parts
    .join('/')
    .split('/')
    .filter((p) => p !== '' && p !== '.')
    .join('/');
}

/** The directory part of a path. */
export function dirOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

/** An import specifier from the file `from` to the file `to` (`.ts` swapped for `ext`). */
export function importPath(from: string, to: string, ext: string): string {
  const a = dirOf(from).split('/').filter(Boolean);
  const b = to.replace(/\.ts$/, ext).split('/');
  let common = 0;
  while (common < a.length && common < b.length - 1 && a[common] === b[common]) common++;
  const up = a.slice(common).map(() => '..');
  const rest = b.slice(common);
  const relative = [...up, ...rest].join('/');
  return up.length === 0 ? `./${relative}` : relative;
}
