import type { ModulesContainer } from '@nestjs/core';

const SENTINEL = Symbol('nestjs-events:shutdown-sentinel');

/**
 * Makes `onShutdown` the first `onModuleDestroy` Nest calls when the application closes.
 *
 * Nest calls `onModuleDestroy` module by module, from the lowest distance to the root (the root
 * module, then its imports) up to global modules, which come last; inside a module, from the
 * highest hierarchy level down. The events module is global, so its own hook would run after
 * the application's providers closed their pools. This adds a value provider to the module Nest
 * destroys first, at the highest level, so that the worker stops before any of them.
 *
 * @returns false when the container did not take the provider (the caller's own hook remains).
 */
export function installShutdownSentinel(
  container: ModulesContainer,
  onShutdown: () => Promise<void>,
): boolean {
  // Nest's order: sorted by distance, descending (a stable sort), then reversed.
  const order = [...container.values()].sort((a, b) => b.distance - a.distance).reverse();
  const first = order[0];
  if (!first || first.providers.has(SENTINEL)) return false;
  try {
    first.addProvider({ provide: SENTINEL, useValue: { onModuleDestroy: onShutdown } });
    const wrapper = first.providers.get(SENTINEL);
    if (!wrapper) return false;
    wrapper.hierarchyLevel = Number.MAX_SAFE_INTEGER;
    return true;
  } catch {
    return false;
  }
}
