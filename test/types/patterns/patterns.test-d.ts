// NamesMatching walks the map's names as a tree; this checks it against the name-by-name
// definition (PatternMatches over every mapped name) on a map whose names are also prefixes of
// others ('a' and 'a.b'), at several depths, for every kind of pattern.
import { expectTypeOf } from 'vitest';
import type { MappedEventName, NamesMatching, PatternMatches } from 'nestjs-events';

declare module 'nestjs-events' {
  interface EventMap {
    a: 1;
    'a.b': 2;
    'a.b.c': 3;
    'a.c': 4;
    'a.x.c': 5;
    'b.c': 6;
    'b.a.b': 7;
    'c.a.b.c': 8;
    c: 9;
  }
}

/** The mapped names `P` matches, tested one name at a time. */
type OneByOne<P extends string, N extends MappedEventName = MappedEventName> = N extends unknown
  ? PatternMatches<P, N> extends true
    ? N
    : never
  : never;

expectTypeOf<NamesMatching<'**'>>().toEqualTypeOf<OneByOne<'**'>>();
expectTypeOf<NamesMatching<'*'>>().toEqualTypeOf<OneByOne<'*'>>();
expectTypeOf<NamesMatching<'*'>>().toEqualTypeOf<'a' | 'c'>();
expectTypeOf<NamesMatching<'*.*'>>().toEqualTypeOf<OneByOne<'*.*'>>();
expectTypeOf<NamesMatching<'*.**'>>().toEqualTypeOf<OneByOne<'*.**'>>();
expectTypeOf<NamesMatching<'**.*'>>().toEqualTypeOf<OneByOne<'**.*'>>();
expectTypeOf<NamesMatching<'**.**'>>().toEqualTypeOf<OneByOne<'**.**'>>();
expectTypeOf<NamesMatching<'a.**'>>().toEqualTypeOf<OneByOne<'a.**'>>();
expectTypeOf<NamesMatching<'a.**'>>().toEqualTypeOf<'a' | 'a.b' | 'a.b.c' | 'a.c' | 'a.x.c'>();
expectTypeOf<NamesMatching<'a.*'>>().toEqualTypeOf<OneByOne<'a.*'>>();
expectTypeOf<NamesMatching<'a.*.c'>>().toEqualTypeOf<OneByOne<'a.*.c'>>();
expectTypeOf<NamesMatching<'a.*.**'>>().toEqualTypeOf<OneByOne<'a.*.**'>>();
expectTypeOf<NamesMatching<'a.**.c'>>().toEqualTypeOf<OneByOne<'a.**.c'>>();
expectTypeOf<NamesMatching<'a.**.c'>>().toEqualTypeOf<'a.b.c' | 'a.c' | 'a.x.c'>();
expectTypeOf<NamesMatching<'**.c'>>().toEqualTypeOf<OneByOne<'**.c'>>();
expectTypeOf<NamesMatching<'**.a.b'>>().toEqualTypeOf<OneByOne<'**.a.b'>>();
expectTypeOf<NamesMatching<'**.a.b'>>().toEqualTypeOf<'a.b' | 'b.a.b'>();
expectTypeOf<NamesMatching<'**.b.*'>>().toEqualTypeOf<OneByOne<'**.b.*'>>();
expectTypeOf<NamesMatching<'**.*.c'>>().toEqualTypeOf<OneByOne<'**.*.c'>>();
expectTypeOf<NamesMatching<'*.a.**'>>().toEqualTypeOf<OneByOne<'*.a.**'>>();
expectTypeOf<NamesMatching<'c.**.c'>>().toEqualTypeOf<OneByOne<'c.**.c'>>();
expectTypeOf<NamesMatching<'**.a.**.c'>>().toEqualTypeOf<OneByOne<'**.a.**.c'>>();
expectTypeOf<NamesMatching<'*.*.*.*'>>().toEqualTypeOf<'c.a.b.c'>();
expectTypeOf<NamesMatching<'z.*'>>().toBeNever();
expectTypeOf<NamesMatching<'a.b.c.*'>>().toBeNever();
expectTypeOf<NamesMatching<'**.z'>>().toBeNever();
expectTypeOf<NamesMatching<'a.*' | 'c.**'>>().toEqualTypeOf<OneByOne<'a.*'> | OneByOne<'c.**'>>();
expectTypeOf<NamesMatching<'a.b'>>().toEqualTypeOf<'a.b'>();
expectTypeOf<NamesMatching<'a.b' | 'c'>>().toEqualTypeOf<'a.b' | 'c'>();
expectTypeOf<NamesMatching<'a.z'>>().toBeNever();
expectTypeOf<NamesMatching<`a.${string}`>>().toEqualTypeOf<'a.b' | 'a.b.c' | 'a.c' | 'a.x.c'>();
expectTypeOf<NamesMatching<string>>().toEqualTypeOf<MappedEventName>();
