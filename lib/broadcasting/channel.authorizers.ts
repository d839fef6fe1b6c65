import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import {
  BROADCAST_CHANNEL_METADATA,
  compileChannelPattern,
  type ChannelPattern,
} from './broadcast-channel.decorator.js';

/** What an authorizer is called with and returns. */
export type ChannelAuthorizerFn = (user: unknown, params: Record<string, string>) => unknown;

interface Authorizer {
  readonly pattern: ChannelPattern;
  readonly id: string;
  readonly call: ChannelAuthorizerFn;
}

/** The `@BroadcastChannel` methods of the application, found at module init. */
@Injectable()
export class ChannelAuthorizers implements OnModuleInit {
  private readonly authorizers: Authorizer[] = [];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  onModuleInit(): void {
    if (this.authorizers.length > 0) return;
    const seen = new Map<string, string>();
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object' || wrapper.isAlias) continue;
      const prototype = Object.getPrototypeOf(instance) as object;
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const fn = instance[method];
        if (typeof fn !== 'function') continue;
        const source = this.reflector.get<string | undefined>(BROADCAST_CHANNEL_METADATA, fn);
        if (source === undefined) continue;
        const id = `${instance.constructor.name}.${method}`;
        const other = seen.get(source);
        if (other !== undefined && other !== id) {
          throw new InvalidOptionError(
            `@BroadcastChannel('${source}') on ${id}`,
            source,
            `one authorizer per channel pattern (${other} already authorizes it)`,
          );
        }
        if (other !== undefined) continue;
        seen.set(source, id);
        const call = (fn as ChannelAuthorizerFn).bind(instance);
        this.authorizers.push({ pattern: compileChannelPattern(source), id, call });
      }
    }
  }

  /** The authorizer of a bare channel name and its params, or undefined (refused). */
  find(
    bare: string,
  ): { id: string; call: ChannelAuthorizerFn; params: Record<string, string> } | undefined {
    for (const { pattern, id, call } of this.authorizers) {
      const match = pattern.regex.exec(bare);
      if (!match) continue;
      const params: Record<string, string> = Object.create(null) as Record<string, string>;
      pattern.params.forEach((name, i) => (params[name] = match[i + 1]));
      return { id, call, params };
    }
    return undefined;
  }
}
