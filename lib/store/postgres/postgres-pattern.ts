import { isWildcardPattern, parsePattern } from '../../discovery/pattern-trie.js';

/** How the PostgreSQL store filters names: exact names, a regex for wildcards, or both. */
export interface SqlNameFilter {
  /** Names compared with `name = ANY(...)`. */
  readonly names: string[];
  /** One POSIX regex matched against `'.' || name`, or undefined when no pattern has a wildcard. */
  readonly regex: string | undefined;
}

const SPECIAL = /[\\^$.|?*+()[\]{}]/g;

/**
 * Translates listener patterns for SQL. The name is matched with a leading dot, so every
 * segment reads "dot, then something": a literal is `\.lit`, `*` is `\.[^.]+` and `**` (zero or
 * more segments) is `(\.[^.]+)*`.
 */
export function toSqlNameFilter(patterns: readonly string[]): SqlNameFilter {
  const names: string[] = [];
  const regexes: string[] = [];
  for (const pattern of patterns) {
    if (!isWildcardPattern(pattern)) {
      names.push(pattern);
      continue;
    }
    const parts = parsePattern(pattern).map((segment) =>
      segment === '**'
        ? '(\\.[^.]+)*'
        : segment === '*'
          ? '\\.[^.]+'
          : `\\.${segment.replace(SPECIAL, '\\$&')}`,
    );
    regexes.push(parts.join(''));
  }
  return {
    names,
    regex: regexes.length > 0 ? `^(${regexes.join('|')})$` : undefined,
  };
}
