import { describe, expect, it } from 'vitest';
import { compilePattern, parsePattern, PatternTrie } from '../../lib/discovery/pattern-trie.js';
import { InvalidPatternError } from '../../lib/errors/invalid-pattern.error.js';
import { seededRandom } from './support/seeded-random.js';

function trieOf(patterns: string[]): PatternTrie<string> {
  const trie = new PatternTrie<string>();
  for (const pattern of patterns) trie.add(pattern, pattern);
  return trie;
}

function matches(trie: PatternTrie<string>, name: string): string[] {
  return trie.match(name).sort();
}

/** The reference: a regex over `name + '.'`, where every segment (and so every match) ends in a dot. */
function referenceMatcher(pattern: string): (name: string) => boolean {
  const body = pattern
    .split('.')
    .map((segment) =>
      segment === '**'
        ? '(?:[^.]+\\.)*'
        : segment === '*'
          ? '[^.]+\\.'
          : `${segment.replace(/[\\^$.*+?()[\]{}|-]/g, '\\$&')}\\.`,
    )
    .join('');
  const regex = new RegExp(`^${body}$`);
  return (name) => regex.test(`${name}.`);
}

describe('parsePattern', () => {
  it('returns the segments of a valid pattern', () => {
    expect(parsePattern('order.created')).toEqual(['order', 'created']);
    expect(parsePattern('**.created.*')).toEqual(['**', 'created', '*']);
    expect(parsePattern('single')).toEqual(['single']);
  });

  it.each([
    ['an empty string', '', /it is empty/],
    ['an empty segment', 'a..b', /empty segment/],
    ['a leading dot', '.a', /empty segment/],
    ['a trailing dot', 'a.', /empty segment/],
    ['"*" mixed into a segment', 'a.*b', /mixes "\*"/],
    ['"***"', 'a.***', /mixes "\*"/],
    ['a space', 'order created', /white space/],
    ['a tab in a segment', 'order.cre\tated', /white space/],
    ['a number', 42, /not a string/],
    ['undefined', undefined, /not a string/],
    ['null', null, /not a string/],
    ['an object', { name: 'a' }, /not a string/],
  ])('refuses %s with InvalidPatternError', (_label, pattern, reason) => {
    let caught: unknown;
    try {
      parsePattern(pattern, 'Listeners.onCreated');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidPatternError);
    const error = caught as InvalidPatternError;
    expect(error.code).toBe('EVENTS_INVALID_PATTERN');
    expect(error.name).toBe('InvalidPatternError');
    expect(error.message).toMatch(reason);
    expect(error.message).toContain('on Listeners.onCreated');
  });
});

describe('PatternTrie', () => {
  it('matches exact patterns only against the same name', () => {
    const trie = trieOf(['order.created', 'order.cancelled', 'order']);
    expect(matches(trie, 'order.created')).toEqual(['order.created']);
    expect(matches(trie, 'order')).toEqual(['order']);
    expect(matches(trie, 'order.created.late')).toEqual([]);
    expect(matches(trie, 'invoice.created')).toEqual([]);
  });

  it('matches "*" against exactly one segment', () => {
    const trie = trieOf(['order.*', '*.created', '*']);
    expect(matches(trie, 'order.created')).toEqual(['*.created', 'order.*']);
    expect(matches(trie, 'order')).toEqual(['*']);
    expect(matches(trie, 'order.created.late')).toEqual([]);
    expect(matches(trie, 'invoice.paid')).toEqual([]);
  });

  it('matches "**" at the end against zero or more segments', () => {
    const trie = trieOf(['order.**']);
    expect(matches(trie, 'order')).toEqual(['order.**']);
    expect(matches(trie, 'order.created')).toEqual(['order.**']);
    expect(matches(trie, 'order.created.by.user')).toEqual(['order.**']);
    expect(matches(trie, 'invoice.created')).toEqual([]);
  });

  it('matches "**" at the start against zero or more segments', () => {
    const trie = trieOf(['**.created']);
    expect(matches(trie, 'created')).toEqual(['**.created']);
    expect(matches(trie, 'order.created')).toEqual(['**.created']);
    expect(matches(trie, 'shop.order.created')).toEqual(['**.created']);
    expect(matches(trie, 'order.created.late')).toEqual([]);
  });

  it('matches "**" in the middle against zero or more segments', () => {
    const trie = trieOf(['shop.**.created']);
    expect(matches(trie, 'shop.created')).toEqual(['shop.**.created']);
    expect(matches(trie, 'shop.order.created')).toEqual(['shop.**.created']);
    expect(matches(trie, 'shop.eu.order.created')).toEqual(['shop.**.created']);
    expect(matches(trie, 'shop.order.paid')).toEqual([]);
    expect(matches(trie, 'order.created')).toEqual([]);
  });

  it('matches patterns with several "**" and "*"', () => {
    const trie = trieOf(['**.order.**', '**', '*.**.*', 'a.**.b.**.c']);
    expect(matches(trie, 'order')).toEqual(['**', '**.order.**']);
    expect(matches(trie, 'x.order.y.z')).toEqual(['**', '**.order.**', '*.**.*']);
    expect(matches(trie, 'a.b.c')).toEqual(['**', '*.**.*', 'a.**.b.**.c']);
    expect(matches(trie, 'a.x.b.y.z.c')).toEqual(['**', '*.**.*', 'a.**.b.**.c']);
    expect(matches(trie, 'a.c')).toEqual(['**', '*.**.*']);
  });

  it('returns a value once when several of its patterns match', () => {
    const trie = new PatternTrie<string>();
    trie.add('order.*', 'audit');
    trie.add('order.created', 'audit');
    trie.add('**', 'audit');
    trie.add('order.created', 'mailer');
    expect(trie.match('order.created').sort()).toEqual(['audit', 'mailer']);
    expect(trie.size).toBe(4);
  });

  it('removes one (pattern, value) pair and leaves the others', () => {
    const trie = new PatternTrie<string>();
    trie.add('order.*', 'a');
    trie.add('order.created', 'a');
    trie.add('order.*', 'b');
    expect(trie.remove('order.*', 'a')).toBe(true);
    expect(trie.size).toBe(2);
    expect(trie.match('order.created').sort()).toEqual(['a', 'b']);
    expect(trie.match('order.paid')).toEqual(['b']);
    expect(trie.remove('order.created', 'a')).toBe(true);
    expect(trie.match('order.created')).toEqual(['b']);
  });

  it('reports false when removing what is not there', () => {
    const trie = new PatternTrie<string>();
    trie.add('order.*', 'a');
    expect(trie.remove('order.*', 'b')).toBe(false);
    expect(trie.remove('order.created', 'a')).toBe(false);
    expect(trie.remove('invoice.**', 'a')).toBe(false);
    expect(trie.remove('order.*.x', 'a')).toBe(false);
    expect(trie.size).toBe(1);
    expect(trie.match('order.x')).toEqual(['a']);
  });

  it('removes a value added twice under one pattern one pair at a time', () => {
    const trie = new PatternTrie<string>();
    trie.add('a.b', 'v');
    trie.add('a.b', 'v');
    expect(trie.remove('a.b', 'v')).toBe(true);
    expect(trie.match('a.b')).toEqual(['v']);
    expect(trie.remove('a.b', 'v')).toBe(true);
    expect(trie.match('a.b')).toEqual([]);
    expect(trie.size).toBe(0);
  });

  it('drops the branches that removals leave empty (on/off under new names does not grow it)', () => {
    interface NodeView {
      children: Map<string, NodeView>;
      star?: NodeView;
      globstar?: NodeView;
      values: unknown[];
    }
    const countNodes = (node: NodeView): number =>
      1 +
      [...node.children.values()].reduce((sum, child) => sum + countNodes(child), 0) +
      (node.star ? countNodes(node.star) : 0) +
      (node.globstar ? countNodes(node.globstar) : 0);
    const trie = new PatternTrie<string>();
    const root = (trie as unknown as { root: NodeView }).root;
    trie.add('order.*', 'kept');
    const baseline = countNodes(root);
    for (let i = 0; i < 100; i++) {
      const pattern = `order.${i}.**.paid.*`;
      trie.add(pattern, 'temporary');
      expect(trie.remove(pattern, 'temporary')).toBe(true);
    }
    expect(countNodes(root)).toBe(baseline);
    expect(trie.match('order.x')).toEqual(['kept']);
    trie.remove('order.*', 'kept');
    expect(countNodes(root)).toBe(1);
  });

  it('stores a run of "**" as one, so that a long name does not multiply the branches walked', () => {
    const trie = new PatternTrie<string>();
    const root = (trie as unknown as { root: { globstar?: { globstar?: unknown } } }).root;
    trie.add('**.**.**.**.**.**.**.**.x', 'run');
    expect(root.globstar).toBeDefined();
    expect(root.globstar?.globstar).toBeUndefined();
    const long = Array.from({ length: 40 }, (_, i) => `s${i}`);
    expect(trie.match([...long, 'x'].join('.'))).toEqual(['run']);
    expect(trie.match('x')).toEqual(['run']);
    expect(trie.match(long.join('.'))).toEqual([]);
    expect(trie.remove('**.**.**.**.**.**.**.**.x', 'run')).toBe(true);
    expect(trie.size).toBe(0);
  });

  it('keeps a branch that still leads to values when a shorter pattern is removed', () => {
    const trie = trieOf(['a', 'a.b.c', 'a.*']);
    trie.remove('a', 'a');
    expect(matches(trie, 'a.b.c')).toEqual(['a.b.c']);
    expect(matches(trie, 'a.b')).toEqual(['a.*']);
    trie.remove('a.*', 'a.*');
    expect(matches(trie, 'a.b.c')).toEqual(['a.b.c']);
  });

  it('refuses invalid patterns in add and remove', () => {
    const trie = new PatternTrie<string>();
    expect(() => trie.add('a..b', 'v')).toThrow(InvalidPatternError);
    expect(() => trie.remove('a.*b', 'v')).toThrow(InvalidPatternError);
    expect(trie.size).toBe(0);
  });

  it('does not confuse a segment named like an Object.prototype key', () => {
    const trie = trieOf(['constructor.__proto__', 'toString']);
    expect(matches(trie, 'constructor.__proto__')).toEqual(['constructor.__proto__']);
    expect(matches(trie, 'hasOwnProperty')).toEqual([]);
  });
});

describe('compilePattern', () => {
  it('compiles an exact pattern', () => {
    const isMatch = compilePattern('order.created');
    expect(isMatch('order.created')).toBe(true);
    expect(isMatch('order.created.x')).toBe(false);
    expect(isMatch('order')).toBe(false);
  });

  it('compiles a wildcard pattern', () => {
    const isMatch = compilePattern('order.**.done');
    expect(isMatch('order.done')).toBe(true);
    expect(isMatch('order.a.b.done')).toBe(true);
    expect(isMatch('order.a.b')).toBe(false);
  });

  it('refuses an invalid pattern at once', () => {
    expect(() => compilePattern('order.*x')).toThrow(InvalidPatternError);
    expect(() => compilePattern('')).toThrow(InvalidPatternError);
  });
});

describe('PatternTrie against a reference matcher (generated)', () => {
  const SEGMENTS = ['a', 'b', 'c', '*', '**'];
  const NAME_SEGMENTS = ['a', 'b', 'c', 'd'];

  function generate(random: () => number, alphabet: string[], maxLength: number): string {
    const length = 1 + Math.floor(random() * maxLength);
    return Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join('.');
  }

  it('agrees with a regex built from each pattern, before and after removals', () => {
    const random = seededRandom(20240611);
    let compared = 0;
    let matched = 0;
    for (let round = 0; round < 20; round++) {
      const patterns = [
        ...new Set(Array.from({ length: 40 }, () => generate(random, SEGMENTS, 5))),
      ];
      const trie = new PatternTrie<number>();
      patterns.forEach((pattern, index) => trie.add(pattern, index));
      const live = new Set(patterns.map((_, index) => index));
      const references = patterns.map(referenceMatcher);

      const check = () => {
        for (let n = 0; n < 60; n++) {
          const name = generate(random, NAME_SEGMENTS, 6);
          const expected = [...live].filter((index) => references[index](name)).sort();
          const actual = trie.match(name).sort();
          expect(actual, `name "${name}" in round ${round}`).toEqual(expected);
          compared++;
          matched += expected.length;
        }
      };
      check();
      for (const index of [...live]) {
        if (random() < 0.5) {
          expect(trie.remove(patterns[index], index)).toBe(true);
          live.delete(index);
        }
      }
      expect(trie.size).toBe(live.size);
      check();
    }
    // The generator must produce both matches and misses, or the comparison proves little.
    expect(compared).toBe(2400);
    expect(matched).toBeGreaterThan(compared);
  });

  it('compilePattern agrees with the reference matcher', () => {
    const random = seededRandom(7);
    for (let i = 0; i < 300; i++) {
      const pattern = generate(random, SEGMENTS, 4);
      const isMatch = compilePattern(pattern);
      const reference = referenceMatcher(pattern);
      for (let n = 0; n < 10; n++) {
        const name = generate(random, NAME_SEGMENTS, 5);
        expect(isMatch(name), `pattern "${pattern}", name "${name}"`).toBe(reference(name));
      }
    }
  });
});
