import { FINISHED, type SagaRecord } from './saga-definition.js';
import { matchesFilter, type SagaFilter, type SagaStore } from './saga.store.js';

/** Sagas in this process's memory (the embedded transport's store): lost on exit. */
export class MemorySagaStore implements SagaStore {
  readonly kind = 'memory';
  // Insertion order is creation order: `list` pages through it as it is.
  private readonly records = new Map<string, SagaRecord>();
  /** Finished sagas whose ending event is not out yet (see `SagaStore.idle`). */
  private readonly ending = new Set<string>();

  create(record: SagaRecord): Promise<boolean> {
    if (this.records.has(record.id)) return Promise.resolve(false);
    this.store(record);
    return Promise.resolve(true);
  }

  get(id: string): Promise<SagaRecord | undefined> {
    const record = this.records.get(id);
    return Promise.resolve(record && structuredClone(record));
  }

  areActive(ids: readonly string[]): Promise<boolean[]> {
    return Promise.resolve(
      ids.map((id) => {
        const record = this.records.get(id);
        return record !== undefined && this.isActive(record);
      }),
    );
  }

  update(record: SagaRecord, expectedVersion: number): Promise<boolean> {
    const current = this.records.get(record.id);
    if (current === undefined || current.version !== expectedVersion) return Promise.resolve(false);
    this.store(record);
    return Promise.resolve(true);
  }

  ended(id: string): Promise<void> {
    this.ending.delete(id);
    return Promise.resolve();
  }

  private store(record: SagaRecord): void {
    this.records.set(record.id, structuredClone(record));
    if (FINISHED.includes(record.status)) this.ending.add(record.id);
  }

  private isActive(record: SagaRecord): boolean {
    return !FINISHED.includes(record.status) || this.ending.has(record.id);
  }

  list(filter: SagaFilter): Promise<SagaRecord[]> {
    const found: SagaRecord[] = [];
    let skipped = 0;
    for (const record of this.records.values()) {
      if (!matchesFilter(record, filter)) continue;
      if (skipped++ < filter.offset) continue;
      if (found.length >= filter.limit) break;
      found.push(structuredClone(record));
    }
    return Promise.resolve(found);
  }

  idle(before: number, limit: number): Promise<SagaRecord[]> {
    const found: SagaRecord[] = [];
    for (const record of this.records.values()) {
      if (found.length >= limit) break;
      if (this.isActive(record) && record.updatedAt < before) {
        found.push(structuredClone(record));
      }
    }
    return Promise.resolve(found);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
