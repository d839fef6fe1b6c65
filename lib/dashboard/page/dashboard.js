// The events dashboard page: plain browser JavaScript, no dependency, no outside request.
// Every value from the server is written with textContent (never parsed as HTML).
import {
  $,
  api,
  body,
  button,
  duration,
  el,
  every,
  isReadOnly,
  q,
  report,
  status,
  time,
} from './page-common.js';
import { pollGroups, selectGroupsQueue, setGroupListeners } from './groups-view.js';
import { startTail } from './tail-view.js';

const hasSagas = body.dataset.sagas === 'true';

const state = {
  queue: undefined,
  deadOffset: 0,
  deadLimit: 20,
  deadTag: '',
};

function confirmAction(text) {
  const dialog = $('#confirm');
  $('#confirm-text').textContent = text;
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) =>
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true }),
  );
}

async function mutate(path, method, confirmText) {
  if (confirmText && !(await confirmAction(confirmText))) return;
  try {
    await api(path, method);
    await Promise.all([loadQueues(), loadDead(), loadChart()]);
  } catch (error) {
    status(error.message, true);
  }
}

// Queues: counts, lag and throughput, every second.
async function loadQueues() {
  const { queues } = await api('queues');
  if (state.queue === undefined || !queues.some((row) => row.name === state.queue)) {
    selectQueue((queues.find((row) => row.counts.dead > 0) ?? queues[0])?.name);
  }
  const rows = queues.map((row) => {
    const c = row.counts;
    const cells = [
      ['name', row.name + (row.isPaused ? ' (paused)' : '')],
      ['waiting', c.waiting],
      ['delayed', c.delayed],
      ['active', c.active],
      ['completed', c.completed],
      ['failed', c.failed],
      ['dead', c.dead],
      ['lag', duration(row.lagMs)],
      ['throughput', `${row.lastMinute.completed} / ${row.lastMinute.failed}`],
    ].map(([col, value]) => el('td', { 'data-col': col, textContent: String(value) }));
    const tr = el('tr', { 'data-queue': row.name }, ...cells);
    if (row.name === state.queue) tr.classList.add('selected');
    tr.addEventListener('click', () => selectQueue(row.name));
    return tr;
  });
  $('#queues tbody').replaceChildren(...rows);
}

function selectQueue(name) {
  if (name === state.queue) return;
  state.queue = name;
  state.deadOffset = 0;
  for (const node of document.querySelectorAll('.queue-name')) node.textContent = name ?? '—';
  for (const tr of document.querySelectorAll('#queues tbody tr')) {
    tr.classList.toggle('selected', tr.dataset.queue === name);
  }
  loadDead().catch(report);
  loadChart().catch(report);
  selectGroupsQueue(name);
}

// Per-minute completed and failed attempts of the last hour, as an inline SVG bar chart.
async function loadChart() {
  if (state.queue === undefined) return $('#chart').replaceChildren();
  const { minutes } = await api(`queues/${q(state.queue)}/history?minutes=60`);
  const ns = 'http://www.w3.org/2000/svg';
  const svg = (tag, attrs, text) => {
    const node = document.createElementNS(ns, tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const width = 600;
  const height = 140;
  const top = 10;
  const bottom = 20;
  const max = Math.max(1, ...minutes.map((m) => m.completed + m.failed));
  const slot = width / minutes.length;
  const scale = (height - top - bottom) / max;
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, width: '100%', role: 'img' });
  chart.append(svg('title', {}, `Completed and failed per minute, last hour (max ${max})`));
  chart.append(svg('line', { x1: 0, x2: width, y1: height - bottom, y2: height - bottom }));
  chart.append(svg('text', { x: 2, y: top }, String(max)));
  minutes.forEach((m, i) => {
    const x = i * slot + 1;
    const completed = m.completed * scale;
    const failed = m.failed * scale;
    const base = height - bottom;
    const tip = `${time(m.at)}: ${m.completed} completed, ${m.failed} failed`;
    const bar = (cls, y, h) => {
      const rect = svg('rect', { class: cls, x, y, width: slot - 2, height: h });
      rect.append(svg('title', {}, tip));
      return rect;
    };
    if (completed > 0) chart.append(bar('completed', base - completed, completed));
    if (failed > 0) chart.append(bar('failed', base - completed - failed, failed));
    if (i % 15 === 0) chart.append(svg('text', { x, y: height - 5 }, time(m.at).slice(0, 5)));
  });
  $('#chart').replaceChildren(chart);
}

// Dead letters of the selected queue, with retry, forget, retry all and purge.
async function loadDead() {
  if (state.queue === undefined) return $('#dead').replaceChildren();
  const queue = state.queue;
  const page = await api(
    `queues/${q(queue)}/dead?offset=${state.deadOffset}&limit=${state.deadLimit}` +
      (state.deadTag ? `&tag=${q(state.deadTag)}` : ''),
  );
  if (queue !== state.queue) return;
  $('#dead-total').textContent = String(page.total);
  $('#dead-prev').disabled = state.deadOffset === 0;
  $('#dead-next').disabled = !page.hasMore;
  $('#retry-all').disabled = page.total === 0;
  $('#purge').disabled = page.total === 0;
  $('#dead').replaceChildren(...page.jobs.map((job) => deadItem(queue, job)));
}

function deadItem(queue, job) {
  const shownData = job.event ? job.event.data : job.raw;
  const payload = shownData.json + (shownData.isTruncated ? '\n… (cut at 10 KiB)' : '');
  const actions = el(
    'div',
    { class: 'actions mutation' },
    button('Retry', 'retry', () => mutate(`queues/${q(queue)}/dead/${q(job.id)}/retry`, 'POST')),
    button('Forget', 'forget', () =>
      mutate(`queues/${q(queue)}/dead/${q(job.id)}`, 'DELETE', `Forget dead job ${job.id}?`),
    ),
  );
  return el(
    'li',
    { 'data-id': job.id },
    el('div', { class: 'error', textContent: job.error }),
    el('div', {
      class: 'meta',
      textContent:
        `${job.event?.name ?? '(unparsed)'} · ${job.listener} · ${job.attempts} attempt(s) · ` +
        `${job.reason} · queued ${time(job.enqueuedAt)} · died ${time(job.failedAt)} · ${job.id}` +
        (job.tags.length > 0 ? ` · tags: ${job.tags.join(', ')}` : ''),
    }),
    job.stackHead
      ? el(
          'details',
          {},
          el('summary', { textContent: 'stack' }),
          el('pre', { class: 'stack', textContent: job.stackHead }),
        )
      : undefined,
    el('pre', { class: 'payload', textContent: payload }),
    actions,
  );
}

async function loadListeners() {
  const { listeners } = await api('listeners');
  setGroupListeners(listeners);
  const rows = listeners.map((l) =>
    el(
      'tr',
      { 'data-listener': l.id },
      el('td', { textContent: l.id }),
      el('td', { textContent: l.patterns.join(', ') }),
      el('td', { textContent: String(l.priority) }),
      el('td', { textContent: l.queue ?? 'in-process' }),
    ),
  );
  $('#listeners tbody').replaceChildren(...rows);
}

async function loadSagas() {
  const { sagas } = await api('sagas?limit=50');
  const rows = sagas.map((s) =>
    el(
      'tr',
      {},
      ...[s.id, s.name, s.status, s.step ?? '', time(s.updatedAt)].map((v) =>
        el('td', { textContent: v }),
      ),
    ),
  );
  $('#sagas tbody').replaceChildren(...rows);
}

$('#retry-all').addEventListener('click', () =>
  mutate(
    `queues/${q(state.queue)}/dead/retry-all`,
    'POST',
    `Retry every dead job of ${state.queue}?`,
  ),
);
$('#purge').addEventListener('click', () =>
  mutate(`queues/${q(state.queue)}/dead`, 'DELETE', `Delete every dead job of ${state.queue}?`),
);
$('#dead-tag').addEventListener('change', (event) => {
  state.deadTag = event.target.value.trim();
  state.deadOffset = 0;
  loadDead().catch(report);
});
$('#dead-prev').addEventListener('click', () => {
  state.deadOffset = Math.max(0, state.deadOffset - state.deadLimit);
  loadDead().catch(report);
});
$('#dead-next').addEventListener('click', () => {
  state.deadOffset += state.deadLimit;
  loadDead().catch(report);
});
async function start() {
  if (hasSagas) $('#sagas-view').hidden = false;
  await Promise.all([loadQueues(), loadListeners(), hasSagas ? loadSagas() : undefined]);
  startTail();
  every(1000, loadQueues);
  every(5000, () => ($('#confirm').open ? Promise.resolve() : loadDead()));
  every(10000, loadChart);
  every(2000, pollGroups);
  if (hasSagas) every(5000, loadSagas);
  status(isReadOnly ? 'read-only' : 'live');
  body.dataset.ready = 'true';
}

start().catch(report);
