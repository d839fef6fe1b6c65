import { InvalidPatternError } from '../errors/invalid-pattern.error.js';

const SEGMENT = /^[^\s.*]+$/;

/** Throws `InvalidPatternError` unless `pattern` is a valid listener pattern; returns its segments. */
export function parsePattern(pattern: unknown, where?: string): string[] {
  if (typeof pattern !== 'string') {
    throw new InvalidPatternError(pattern, 'it is not a string', where);
  }
  if (pattern.length === 0) throw new InvalidPatternError(pattern, 'it is empty', where);
  const segments = pattern.split('.');
  for (const segment of segments) {
    if (segment === '*' || segment === '**') continue;
    if (segment.length === 0) {
      throw new InvalidPatternError(pattern, 'it has an empty segment', where);
    }
    if (!SEGMENT.test(segment)) {
      throw new InvalidPatternError(
        pattern,
        segment.includes('*')
          ? `"${segment}" mixes "*" with other characters`
          : `"${segment}" contains white space`,
        where,
      );
    }
  }
  return segments;
}

/** True when the pattern has a wildcard segment. */
export function isWildcardPattern(pattern: string): boolean {
  return pattern.includes('*');
}

interface TrieNode<T> {
  readonly children: Map<string, TrieNode<T>>;
  star?: TrieNode<T>;
  globstar?: TrieNode<T>;
  values: T[];
}

function createNode<T>(): TrieNode<T> {
  return { children: new Map(), values: [] };
}

/**
 * The segments the trie stores for a pattern: `**.**` means the same as `**`, and keeping only one
 * stops a run of them from multiplying the branches a match explores.
 */
function trieSegments(pattern: string): string[] {
  return parsePattern(pattern).filter(
    (segment, i, segments) => !(segment === '**' && segments[i - 1] === '**'),
  );
}

function isEmpty<T>(node: TrieNode<T>): boolean {
  return node.values.length === 0 && node.children.size === 0 && !node.star && !node.globstar;
}

/**
 * Patterns to values, matched against concrete names segment by segment: exact segments,
 * `*` (exactly one segment) and `**` (zero or more). A match visits only the branches the name
 * can follow, so patterns that cannot match cost nothing.
 */
export class PatternTrie<T> {
  private readonly root = createNode<T>();
  private count = 0;

  /** How many (pattern, value) pairs are stored. */
  get size(): number {
    return this.count;
  }

  add(pattern: string, value: T): void {
    let node = this.root;
    for (const segment of trieSegments(pattern)) {
      if (segment === '**') node = node.globstar ??= createNode();
      else if (segment === '*') node = node.star ??= createNode();
      else {
        let next = node.children.get(segment);
        if (!next) node.children.set(segment, (next = createNode()));
        node = next;
      }
    }
    node.values.push(value);
    this.count++;
  }

  /** Removes one (pattern, value) pair; returns whether it was there. */
  remove(pattern: string, value: T): boolean {
    const path: { parent: TrieNode<T>; segment: string }[] = [];
    let node = this.root;
    for (const segment of trieSegments(pattern)) {
      const next =
        segment === '**' ? node.globstar : segment === '*' ? node.star : node.children.get(segment);
      if (!next) return false;
      path.push({ parent: node, segment });
      node = next;
    }
    const index = node.values.indexOf(value);
    if (index < 0) return false;
    node.values.splice(index, 1);
    this.count--;
    // Drop the branch nodes left empty, so that listeners added and removed at run time under
    // ever new names (`on` / `off`) do not grow the trie without bound.
    for (let i = path.length - 1; i >= 0 && isEmpty(node); i--) {
      const { parent, segment } = path[i];
      if (segment === '**') delete parent.globstar;
      else if (segment === '*') delete parent.star;
      else parent.children.delete(segment);
      node = parent;
    }
    return true;
  }

  /** Every value whose pattern matches `name`, each once, in no particular order. */
  match(name: string): T[] {
    const found = new Set<T>();
    this.walk(this.root, name.split('.'), 0, found);
    return [...found];
  }

  private walk(node: TrieNode<T>, segments: string[], index: number, found: Set<T>): void {
    if (node.globstar) {
      // `**` absorbs zero or more segments: try the rest of the pattern at every later position.
      for (let i = index; i <= segments.length; i++) this.walk(node.globstar, segments, i, found);
    }
    if (index === segments.length) {
      for (const value of node.values) found.add(value);
      return;
    }
    const exact = node.children.get(segments[index]);
    if (exact) this.walk(exact, segments, index + 1, found);
    if (node.star) this.walk(node.star, segments, index + 1, found);
  }
}

/** A standalone matcher for one pattern (used by `stream(pattern)`). */
export function compilePattern(pattern: string): (name: string) => boolean {
  const trie = new PatternTrie<true>();
  trie.add(pattern, true);
  if (!isWildcardPattern(pattern)) return (name) => name === pattern;
  return (name) => trie.match(name).length > 0;
}
