import type { Writable } from 'node:stream';

/** Where a command writes: its data to `out`, progress and errors to `err`. */
export interface CliOutput {
  readonly out: Writable;
  readonly err: Writable;
}

/** JSON that never throws on the values events carry (BigInt as a string, Map and Set as arrays). */
export function toJson(value: unknown, indent = 2): string {
  return JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (typeof v === 'bigint') return v.toString();
      if (v instanceof Map) return Object.fromEntries(v);
      if (v instanceof Set) return [...v];
      return v;
    },
    indent,
  );
}

/** Lines of a left-aligned text table (no borders), headed by `columns`. */
export function table(columns: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(columns), ...rows.map(line)].join('\n') + '\n';
}

/** A time as ISO 8601 (UTC), or `-` when unknown (0). */
export function isoTime(ms: number | undefined): string {
  return ms ? new Date(ms).toISOString() : '-';
}

/** The first line of a text, cut to `max` characters. */
export function oneLine(text: string, max = 60): string {
  const first = text.split('\n', 1)[0] ?? '';
  return first.length > max ? `${first.slice(0, max - 1)}…` : first;
}
