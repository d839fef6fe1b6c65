// The groups of the selected queue (`@ShouldQueue({ group })`): waiting and active jobs, paused
// or rate-limited state, pause and resume, a page of them at a time.
import { $, api, button, el, q, report, time } from './page-common.js';

const PAGE = 20;
const view = { queue: undefined, offset: 0, listeners: [], isShown: false };

/** The group settings of the queue's listeners (from `GET api/listeners`). */
function settingsOf(queue) {
  return view.listeners.filter((l) => l.queue === queue && l.flow?.group);
}

function describeSettings(listener) {
  const { weight, concurrency, rateLimit } = listener.flow.group;
  const parts = [weight === 'function' ? 'weight per group' : `weight ${weight}`];
  parts.push(concurrency ? `at most ${concurrency} running per group` : 'no concurrency limit');
  if (rateLimit) parts.push(`at most ${rateLimit.max} starts per ${rateLimit.durationMs} ms`);
  return `${listener.id}: ${parts.join(' · ')}`;
}

export function setGroupListeners(listeners) {
  view.listeners = listeners;
  loadGroups().catch(report);
}

export function selectGroupsQueue(name) {
  view.queue = name;
  view.offset = 0;
  loadGroups().catch(report);
}

/**
 * Refreshes the view while the selected queue has groups. A queue that showed none, and has no
 * grouped listener in this app, is asked only when selected: no call a second for queues
 * without groups.
 */
export async function pollGroups() {
  if (view.isShown || (view.queue !== undefined && settingsOf(view.queue).length > 0)) {
    await loadGroups();
  }
}

/** Loads the page of groups of the selected queue; the view shows when the queue has groups. */
async function loadGroups() {
  const queue = view.queue;
  if (queue === undefined) return show(false);
  const settings = settingsOf(queue);
  const page = await api(`queues/${q(queue)}/groups?offset=${view.offset}&limit=${PAGE}`);
  if (queue !== view.queue) return;
  show(settings.length > 0 || page.groups.length > 0 || view.offset > 0);
  $('#groups-settings').replaceChildren(
    ...settings.map((l) => el('li', { textContent: describeSettings(l) })),
  );
  $('#groups-range').textContent =
    page.groups.length === 0
      ? 'none with jobs'
      : `${view.offset + 1}–${view.offset + page.groups.length}${page.hasMore ? '+' : ''}`;
  $('#groups-prev').disabled = view.offset === 0;
  $('#groups-next').disabled = !page.hasMore;
  $('#groups tbody').replaceChildren(...page.groups.map((group) => groupRow(queue, group)));
}

function show(isShown) {
  view.isShown = isShown;
  $('#groups-view').hidden = !isShown;
}

function stateOf(group) {
  if (group.paused) return 'paused';
  if (group.limitedUntil !== undefined) return `rate-limited until ${time(group.limitedUntil)}`;
  if (group.active > 0) return 'running';
  return group.waiting > 0 ? 'waiting' : 'idle';
}

function groupRow(queue, group) {
  const verb = group.paused ? 'resume' : 'pause';
  const toggle = button(group.paused ? 'Resume' : 'Pause', verb, () =>
    mutateGroup(`queues/${q(queue)}/groups/${q(group.id)}/${verb}`),
  );
  const cells = [
    ['id', group.id],
    ['waiting', String(group.waiting)],
    ['active', String(group.active)],
    ['state', stateOf(group)],
  ].map(([col, value]) => el('td', { 'data-col': col, textContent: value }));
  return el(
    'tr',
    { 'data-group': group.id, 'data-state': group.paused ? 'paused' : 'live' },
    ...cells,
    el('td', { class: 'mutation' }, toggle),
  );
}

async function mutateGroup(path) {
  try {
    await api(path, 'POST');
    await loadGroups();
  } catch (error) {
    report(error);
  }
}

$('#groups-prev').addEventListener('click', () => {
  view.offset = Math.max(0, view.offset - PAGE);
  loadGroups().catch(report);
});
$('#groups-next').addEventListener('click', () => {
  view.offset += PAGE;
  loadGroups().catch(report);
});
