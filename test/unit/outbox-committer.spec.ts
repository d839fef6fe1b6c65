import { describe, expect, it } from 'vitest';
import { OutboxCommitter } from '../../lib/outbox/outbox.committer.js';
import type { CommittedEvent, OutboxDispatcher } from '../../lib/outbox/outbox.dispatcher.js';
import type { OutboxMarker } from '../../lib/outbox/outbox.marker.js';
import { OutboxSql } from '../../lib/outbox/outbox-sql.js';
import type { WrittenRow } from '../../lib/outbox/outbox-transaction.js';
import type { EventEnvelope } from '../../lib/event/event-envelope.js';

/** A committer whose dispatches (batches of event ids) and marks are recorded. */
function recordingCommitter() {
  const batches: string[][] = [];
  const marked: string[] = [];
  const dispatcher = {
    dispatch: (events: readonly CommittedEvent[]) => {
      batches.push(events.map((e) => e.envelope.id));
      return Promise.resolve();
    },
  } as unknown as OutboxDispatcher;
  const marker = {
    mark: (ids: readonly string[]) => marked.push(...ids),
    unmarked: new Set<string>(),
  } as unknown as OutboxMarker;
  const committer = new OutboxCommitter(
    new OutboxSql('events_outbox', 0),
    () => Promise.resolve([]),
    dispatcher,
    marker,
    () => undefined,
  );
  return { committer, batches, marked };
}

const row = (id: string): WrittenRow => ({
  id,
  envelope: { id: `e${id}` } as EventEnvelope,
  orderingKey: null,
  delayMs: 0,
  jobOptions: undefined,
});

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('OutboxCommitter', () => {
  it('dispatches the commits of one turn of the event loop in one transport batch', async () => {
    const { committer, batches, marked } = recordingCommitter();
    // Other transactions are open; three commits read in one turn (their replies came
    // together): one batch, not one for the first and a second for those that came while it
    // was in flight.
    committer.opened();
    await Promise.all([
      committer.dispatch([row('1')]),
      committer.dispatch([row('2'), row('3')]),
      committer.dispatch([row('4')]),
    ]);
    expect(batches).toEqual([['e1', 'e2', 'e3', 'e4']]);
    expect(marked).toEqual(['1', '2', '3', '4']);
  });

  it('does not hold a commit of a later turn back for more', async () => {
    const { committer, batches } = recordingCommitter();
    committer.opened();
    await committer.dispatch([row('1')]);
    await nextTurn();
    await committer.dispatch([row('2')]);
    expect(batches).toEqual([['e1'], ['e2']]);
  });

  it('dispatches a commit at once when no other transaction is open', () => {
    const { committer, batches } = recordingCommitter();
    committer.opened();
    committer.closed();
    void committer.dispatch([row('1')]);
    // In the same turn, before any wait: a lone commit waits for no others.
    expect(batches).toEqual([['e1']]);
  });
});
