import { describeValue } from '../errors/events.error.js';
import { InvalidTagsError } from '../errors/invalid-tags.error.js';
import { eventClassOf } from './event-name.js';

/** Most tags one event carries. */
export const MAX_TAGS = 16;
/** Longest tag (characters). */
export const MAX_TAG_LENGTH = 64;

/** Where a payload carries its tags: right after the format mark, so reading them is a prefix test. */
export const TAGS_PREFIX = '{"v":2,"tags":';

const NO_TAGS: readonly string[] = Object.freeze([]);

/** Whether `text` has a C0 control character or DEL (tags go into log lines and Redis keys). */
function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/**
 * The tags of an emitted event: what its class's `tags()` instance method returns, checked;
 * empty for plain payloads and classes without `tags()`. Duplicates are dropped, order kept.
 *
 * @throws InvalidTagsError when `tags()` throws or returns anything but a bounded list of tags.
 */
export function tagsOf(name: string, data: unknown): readonly string[] {
  if (eventClassOf(data) === undefined) return NO_TAGS;
  const method = (data as { tags?: unknown }).tags;
  if (typeof method !== 'function') return NO_TAGS;
  let tags: unknown;
  try {
    tags = (method as () => unknown).call(data);
  } catch (error) {
    throw new InvalidTagsError(name, undefined, `tags() threw: ${(error as Error)?.message}`);
  }
  if (!Array.isArray(tags)) {
    throw new InvalidTagsError(name, tags, `tags() returned ${describeValue(tags)}, not an array`);
  }
  if (tags.length === 0) return NO_TAGS;
  const unique = [...new Set(tags as unknown[])];
  if (unique.length > MAX_TAGS) {
    throw new InvalidTagsError(name, tags, `${unique.length} tags, more than ${MAX_TAGS}`);
  }
  for (const tag of unique) {
    if (typeof tag !== 'string') {
      throw new InvalidTagsError(name, tags, `a tag that is not a string (${typeof tag})`);
    }
    if (
      tag.length === 0 ||
      tag.length > MAX_TAG_LENGTH ||
      tag.trim() !== tag ||
      hasControlCharacter(tag)
    ) {
      throw new InvalidTagsError(name, tags, `the tag ${JSON.stringify(tag)} is not allowed`);
    }
  }
  return unique as string[];
}

/**
 * The tags a serialized payload carries (see `serializeEnvelope`); empty when it carries none or
 * does not parse. Untagged payloads cost one prefix test.
 */
export function tagsOfPayload(payload: string): readonly string[] {
  if (!payload.startsWith(TAGS_PREFIX)) return NO_TAGS;
  try {
    const tags = (JSON.parse(payload) as { tags?: unknown }).tags;
    return Array.isArray(tags) && tags.every((tag) => typeof tag === 'string') ? tags : NO_TAGS;
  } catch {
    return NO_TAGS;
  }
}
