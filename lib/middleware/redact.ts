/** What a redacted value is replaced with. */
export const REDACTED = '[redacted]';

/**
 * `data` with the value at each path replaced by `REDACTED`, copied along those paths only (the
 * payload itself is never changed). A path is a list of keys (array indexes as strings); `*`
 * stands for every key or index at its level. A path that leads nowhere changes nothing.
 *
 * @example
 * redactPaths({ card: { number: '4242' } }, [['card', 'number']]) // { card: { number: '[redacted]' } }
 */
export function redactPaths(data: unknown, paths: readonly (readonly string[])[]): unknown {
  let out = data;
  for (const path of paths) out = redactAt(out, path, 0);
  return out;
}

function redactAt(value: unknown, path: readonly string[], index: number): unknown {
  if (index === path.length) return REDACTED;
  if (value === null || typeof value !== 'object') return value;
  const segment = path[index];
  const copy: Record<string, unknown> = Array.isArray(value)
    ? ([...value] as unknown as Record<string, unknown>)
    : { ...(value as Record<string, unknown>) };
  const keys = segment === '*' ? Object.keys(copy) : Object.hasOwn(copy, segment) ? [segment] : [];
  for (const key of keys) copy[key] = redactAt(copy[key], path, index + 1);
  return copy;
}
