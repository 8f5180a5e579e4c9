/** The page's small DOM and API helpers, and the write token. */

export const main = document.getElementById('main') as HTMLElement;
const TOKEN_KEY = 'flowstate-token';
const hashToken = /token=([^&]+)/.exec(location.hash)?.[1];
if (hashToken) {
  sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(hashToken));
  history.replaceState(null, '', location.pathname + location.search);
}
export const token = () => sessionStorage.getItem(TOKEN_KEY);

/** Builds an element: `h('td', { class: 'x' }, 'text', child)`. */
export function h(
  tag: string,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.append(...children);
  return el;
}

export const ms = (n: number | null | undefined) =>
  n == null
    ? '—'
    : n < 1000
      ? `${n} ms`
      : n < 60_000
        ? `${(n / 1000).toFixed(1)} s`
        : `${Math.floor(n / 60_000)} min ${Math.round((n % 60_000) / 1000)} s`;
export const time = (t: number | undefined) => (t ? new Date(t).toLocaleString() : '—');
export const badge = (status: string) =>
  h('span', { class: `badge ${status}`, 'data-status': status }, status);
export const bar = (percent: number | null) =>
  percent == null
    ? h('span', { class: 'muted' }, '—')
    : h('span', {}, h('span', { class: 'bar' }, h('i', { style: `width:${percent}%` })), `${percent}%`);

export async function api<T>(path: string, init?: RequestInit): Promise<T> {
  const response = await fetch(path, init);
  const body = (await response.json()) as T & { error?: string };
  if (response.status >= 400) throw new Error(body.error ?? response.statusText);
  return body;
}
