import { SetMetadata } from '@nestjs/common';
import { InvalidChannelNameError } from '../errors/invalid-channel-name.error.js';
import { MAX_CHANNEL_NAME_LENGTH } from './channel.js';

/** Metadata key: the channel pattern an `@BroadcastChannel` method authorizes. */
export const BROADCAST_CHANNEL_METADATA = 'nestjs-events:broadcast-channel';

const LITERAL = /^[A-Za-z0-9._=-]*$/;
const PARAM = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** A compiled `@BroadcastChannel` pattern: its regular expression and parameter names. */
export interface ChannelPattern {
  readonly source: string;
  readonly regex: RegExp;
  readonly params: readonly string[];
}

/**
 * Compiles `orders.{orderId}`: literal parts of the strict channel alphabet, `{name}`
 * placeholders matching one dot-free segment part (`[A-Za-z0-9_=-]+`).
 *
 * @throws InvalidChannelNameError for anything else (wildcards, spaces, a private-/presence- prefix).
 */
export function compileChannelPattern(pattern: unknown): ChannelPattern {
  if (typeof pattern !== 'string' || pattern.length === 0) {
    throw new InvalidChannelNameError(pattern, 'a channel pattern is a non-empty string');
  }
  if (pattern.length > MAX_CHANNEL_NAME_LENGTH) {
    throw new InvalidChannelNameError(pattern, `it is longer than ${MAX_CHANNEL_NAME_LENGTH}`);
  }
  if (pattern.startsWith('private-') || pattern.startsWith('presence-')) {
    throw new InvalidChannelNameError(
      pattern,
      'authorize the name without its private-/presence- prefix',
    );
  }
  const params: string[] = [];
  let regex = '^';
  let last = 0;
  for (const match of pattern.matchAll(PARAM)) {
    const literal = pattern.slice(last, match.index);
    if (!LITERAL.test(literal)) {
      throw new InvalidChannelNameError(
        pattern,
        'only [A-Za-z0-9._=-] and {param} placeholders are allowed',
      );
    }
    regex += literal.replace(/[.-]/g, '\\$&') + '([A-Za-z0-9_=-]+)';
    params.push(match[1]);
    last = match.index + match[0].length;
  }
  const rest = pattern.slice(last);
  if (!LITERAL.test(rest)) {
    throw new InvalidChannelNameError(
      pattern,
      'only [A-Za-z0-9._=-] and {param} placeholders are allowed',
    );
  }
  regex += rest.replace(/[.-]/g, '\\$&') + '$';
  return { source: pattern, regex: new RegExp(regex), params };
}

/**
 * Marks a provider method as the authorizer of the private and presence channels matching
 * `pattern` (without the `private-`/`presence-` prefix). It is called as `(user, params)` and
 * returns (or resolves to) `true` to let a user into a private channel, the member's public info
 * (an object) to let them into a presence channel, anything else to refuse. Channels without a
 * matching authorizer are refused.
 *
 * @example
 * @BroadcastChannel('orders.{orderId}')
 * canSeeOrder(user: User, { orderId }: { orderId: string }) { return user.orderIds.includes(orderId); }
 */
export function BroadcastChannel(pattern: string): MethodDecorator {
  compileChannelPattern(pattern);
  return SetMetadata(BROADCAST_CHANNEL_METADATA, pattern);
}
