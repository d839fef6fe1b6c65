// The live tail: server-sent events, filtered by a pattern, with pause.
import { $, base, el, q, time } from './page-common.js';

const state = { paused: false, missed: 0 };

function addTailLine(line) {
  const list = $('#tail');
  list.prepend(line);
  while (list.children.length > 200) list.lastElementChild.remove();
}

let source;
export function startTail() {
  source?.close();
  const pattern = $('#tail-pattern').value.trim();
  $('#tail-state').textContent = 'connecting…';
  source = new EventSource(`${base}api/tail${pattern ? `?pattern=${q(pattern)}` : ''}`);
  source.onmessage = (message) => {
    const item = JSON.parse(message.data);
    if (item.type === 'ready') return void ($('#tail-state').textContent = 'live');
    if (item.type === 'error') return void ($('#tail-state').textContent = item.message);
    if (state.paused) {
      state.missed += item.type === 'skipped' ? item.count : 1;
      return void ($('#tail-state').textContent = `paused (${state.missed} missed)`);
    }
    if (item.type === 'skipped') {
      const text = `… ${item.count} more in the last second (the tail shows 50 a second)`;
      return void addTailLine(el('li', { 'data-type': 'skipped', textContent: text }));
    }
    const event = item.type === 'emit' ? item.event : item.job.event;
    const where =
      item.type === 'emit' ? 'emitted here' : `${item.job.queue} · ${item.job.listener}`;
    addTailLine(
      el(
        'li',
        { 'data-type': item.type },
        el('span', { class: `kind kind-${item.type}`, textContent: item.type }),
        ` ${time(event?.timestamp ?? Date.now())} ${event?.name ?? '(unparsed)'} · ${where} · ${event?.data.json ?? ''}`,
      ),
    );
  };
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED)
      $('#tail-state').textContent = 'stopped (bad pattern?)';
    else $('#tail-state').textContent = 'reconnecting…';
  };
}

$('#tail-form').addEventListener('submit', (event) => {
  event.preventDefault();
  $('#tail').replaceChildren();
  startTail();
});
$('#tail-pause').addEventListener('click', () => {
  state.paused = !state.paused;
  state.missed = 0;
  $('#tail-pause').textContent = state.paused ? 'Resume' : 'Pause';
  $('#tail-state').textContent = state.paused ? 'paused' : 'live';
});
