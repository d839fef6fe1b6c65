// What every view of the dashboard page shares: the page's settings, the API, DOM helpers.
// Every value from the server is written with textContent (never parsed as HTML).

export const body = document.body;
export const base = new URL(document.baseURI).pathname;
export const isReadOnly = body.dataset.readOnly === 'true';
const csrfHeader = body.dataset.csrfHeader;
export const $ = (selector) => document.querySelector(selector);

/** Calls the dashboard's JSON API; mutations carry the header the API asks for. */
export async function api(path, method = 'GET') {
  const headers = method === 'GET' ? {} : { [csrfHeader]: '1' };
  const response = await fetch(`${base}api/${path}`, { method, headers });
  const text = await response.text();
  const json = text ? JSON.parse(text) : {};
  if (!response.ok) throw new Error(json.message ?? `${response.status} ${response.statusText}`);
  return json;
}

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'class') node.className = value;
    else if (key.startsWith('data-')) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) if (child !== undefined) node.append(child);
  return node;
}

export function button(label, name, onClick) {
  const node = el('button', { type: 'button', textContent: label, 'data-action': name });
  node.addEventListener('click', onClick);
  return node;
}

export function status(text, isError = false) {
  const node = $('#status');
  node.textContent = text;
  node.style.color = isError ? '#feb2b2' : '';
}

export function report(error) {
  status(error.message, true);
}

export const time = (ms) => new Date(ms).toTimeString().slice(0, 8);
export const duration = (ms) => (ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);
export const q = (name) => encodeURIComponent(name);

/** Runs `task` every `ms` after the previous run ended (a slow server never stacks calls). */
export function every(ms, task) {
  const run = () =>
    task()
      .catch(report)
      .finally(() => setTimeout(run, ms));
  setTimeout(run, ms);
}
