import { FINISHED, type SagaRecord } from './saga-definition.js';
import { matchesFilter, type SagaFilter, type SagaStore } from './saga.store.js';

/** Sagas in this process's memory (the embedded transport's store): lost on exit. */
export class MemorySagaStore implements SagaStore {
  readonly kind = 'memory';
  // Insertion order is creation order: `list` pages through it as it is.
  private readonly records = new Map<string, SagaRecord>();

  create(record: SagaRecord): Promise<boolean> {
    if (this.records.has(record.id)) return Promise.resolve(false);
    this.records.set(record.id, structuredClone(record));
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
        return record !== undefined && !FINISHED.includes(record.status);
      }),
    );
  }

  update(record: SagaRecord, expectedVersion: number): Promise<boolean> {
    const current = this.records.get(record.id);
    if (current === undefined || current.version !== expectedVersion) return Promise.resolve(false);
    this.records.set(record.id, structuredClone(record));
    return Promise.resolve(true);
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
      if (!FINISHED.includes(record.status) && record.updatedAt < before) {
        found.push(structuredClone(record));
      }
    }
    return Promise.resolve(found);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
