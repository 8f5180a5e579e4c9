/**
 * The web view's page (plain TypeScript and DOM, bundled with rolldown into dist/bundle/web/app.js): the runs list
 * at `/` and a run at `/runs/<id>`, both kept live by the server's SSE streams. Writes send the token from
 * `#token=...` (kept in this tab's sessionStorage) as `Authorization: Bearer`.
 */
import { drawChart } from './chart.js';
import type { Detail, Row } from './types.js';

const main = document.getElementById('main') as HTMLElement;
const TOKEN_KEY = 'flowstate-token';
const hashToken = /token=([^&]+)/.exec(location.hash)?.[1];
if (hashToken) {
  sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(hashToken));
  history.replaceState(null, '', location.pathname + location.search);
}
const token = () => sessionStorage.getItem(TOKEN_KEY);

/** Builds an element: `h('td', { class: 'x' }, 'text', child)`. */
function h(tag: string, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.append(...children);
  return el;
}

const ms = (n: number | null | undefined) =>
  n == null
    ? '—'
    : n < 1000
      ? `${n} ms`
      : n < 60_000
        ? `${(n / 1000).toFixed(1)} s`
        : `${Math.floor(n / 60_000)} min ${Math.round((n % 60_000) / 1000)} s`;
const time = (t: number | undefined) => (t ? new Date(t).toLocaleString() : '—');
const badge = (status: string) => h('span', { class: `badge ${status}`, 'data-status': status }, status);
const bar = (percent: number | null) =>
  percent == null
    ? h('span', { class: 'muted' }, '—')
    : h('span', {}, h('span', { class: 'bar' }, h('i', { style: `width:${percent}%` })), `${percent}%`);

async function api<T>(path: string, init?: RequestInit): Promise<T> {
  const response = await fetch(path, init);
  const body = (await response.json()) as T & { error?: string };
  if (response.status >= 400) throw new Error(body.error ?? response.statusText);
  return body;
}

// ---- the runs list ----

async function listPage() {
  const params = new URLSearchParams(location.search);
  const limit = 50;
  const offset = Number(params.get('offset') ?? 0);
  const workflow = h('input', {
    placeholder: 'workflow',
    value: params.get('workflow') ?? '',
    id: 'f-workflow',
  }) as HTMLInputElement;
  const status = h('select', { id: 'f-status' }) as HTMLSelectElement;
  for (const s of ['', 'running', 'waiting', 'done', 'failed', 'cancelled', 'compensated'])
    status.append(h('option', { value: s }, s === '' ? 'any status' : s));
  status.value = params.get('status') ?? '';
  const apply = (nextOffset = 0) => {
    const q = new URLSearchParams();
    if (workflow.value) q.set('workflow', workflow.value);
    if (status.value) q.set('status', status.value);
    if (nextOffset) q.set('offset', String(nextOffset));
    location.search = q.toString();
  };
  workflow.addEventListener('change', () => apply());
  status.addEventListener('change', () => apply());
  const body = h('tbody');
  const pager = h('div', { class: 'pager' });
  main.replaceChildren(
    h('div', { class: 'filters' }, workflow, status),
    h(
      'table',
      { id: 'runs' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['run', 'workflow', 'status', 'progress', 'ETA', 'started', 'duration'].map((c) =>
            h('th', {}, c),
          ),
        ),
      ),
      body,
    ),
    pager,
  );
  const load = async () => {
    const q = new URLSearchParams({ limit: String(limit), offset: String(offset) });
    if (params.get('workflow')) q.set('workflow', params.get('workflow') as string);
    if (params.get('status')) q.set('status', params.get('status') as string);
    const page = await api<{ runs: Row[]; total: number | null; more: boolean }>(`/api/runs?${q}`);
    body.replaceChildren(
      ...page.runs.map((r) =>
        h(
          'tr',
          { 'data-run': r.id },
          h('td', {}, h('a', { href: `/runs/${encodeURIComponent(r.id)}` }, r.id)),
          h('td', {}, r.workflow),
          h('td', {}, badge(r.status)),
          h('td', {}, bar(r.percent)),
          h('td', {}, ms(r.etaMs)),
          h('td', {}, time(r.createdAt)),
          h('td', {}, ms(r.durationMs)),
        ),
      ),
    );
    if (page.runs.length === 0)
      body.append(h('tr', {}, h('td', { colspan: '7', class: 'muted' }, 'no runs')));
    const prev = h('button', {}, '← newer') as HTMLButtonElement;
    const next = h('button', {}, 'older →') as HTMLButtonElement;
    prev.disabled = offset === 0;
    next.disabled = !page.more;
    prev.onclick = () => apply(Math.max(0, offset - limit));
    next.onclick = () => apply(offset + limit);
    const of = page.total == null ? '' : ` of ${page.total}`;
    pager.replaceChildren(
      prev,
      h('span', { class: 'muted' }, `${offset + 1}–${offset + page.runs.length}${of}`),
      next,
    );
  };
  await load();
  let pending: number | undefined;
  new EventSource('/api/runs/events').addEventListener('changed', () => {
    clearTimeout(pending);
    pending = window.setTimeout(() => void load(), 50);
  });
}

// ---- one run ----

async function runPage(id: string) {
  const render = (d: Detail) => {
    const r = d.run;
    const facts = h(
      'div',
      { class: 'facts' },
      ...(
        [
          ['status', badge(r.status)],
          ['workflow', r.workflow],
          ['progress', bar(r.percent)],
          ['ETA', ms(r.etaMs)],
          ['started', time(r.createdAt)],
          ['duration', ms(r.durationMs)],
          ['owner', r.owner ?? '—'],
        ] as const
      ).map(([k, v]) => h('div', {}, h('span', {}, k), v)),
    );
    const cards: HTMLElement[] = [
      h('div', { class: 'card' }, h('h2', { id: 'run-id' }, `run ${r.id}`), facts),
    ];
    if (r.error) cards[0]?.append(h('p', { class: 'note bad' }, `${r.error.code ?? ''} ${r.error.message}`));
    const chart = h('div', { class: 'chart', id: 'chart' });
    if (d.chart) drawChart(chart, d.chart, new Set(d.active));
    else
      chart.append(
        h(
          'p',
          { class: 'muted' },
          `no definition of '${r.workflow}' here: start serve with --workflows <module> to draw it`,
        ),
      );
    cards.push(h('div', { class: 'card' }, h('h2', {}, 'statechart'), chart));
    cards.push(actions(d));
    cards.push(h('div', { class: 'card' }, h('h2', {}, 'step log'), stepLog(d)));
    main.replaceChildren(...cards);
  };
  const first = await api<Detail>(`/api/runs/${encodeURIComponent(id)}`).catch((e: Error) => {
    main.replaceChildren(h('p', { class: 'note bad' }, e.message));
    return undefined;
  });
  if (!first) return;
  render(first);
  let shown = first;
  new EventSource(`/api/runs/${encodeURIComponent(id)}/events`).addEventListener('run', (e) => {
    const next = JSON.parse((e as MessageEvent<string>).data) as Detail;
    // Keep what the user is typing in the actions while what waits is the same: this update is skipped.
    const typing = document.activeElement?.closest('#actions') && document.activeElement.tagName === 'INPUT';
    const same =
      JSON.stringify(next.waiting) === JSON.stringify(shown.waiting) && next.run.status === shown.run.status;
    shown = next;
    if (typing && same) return;
    render(next);
  });
}

function stepLog(d: Detail): HTMLElement {
  const rows = d.steps.map((s) => {
    const last = s.attempts.at(-1);
    const attempts = h(
      'details',
      {},
      h('summary', {}, String(s.attempts.length)),
      ...s.attempts.map((a) =>
        h(
          'div',
          { class: 'note' },
          `#${a.attempt} ${a.agent ?? ''} ${a.startedAt && a.endedAt ? ms(a.endedAt - a.startedAt) : ''} ${a.error ? `✗ ${a.error.message}` : a.endedAt ? '✓' : '…'}`,
        ),
      ),
    );
    return h(
      'tr',
      { 'data-step': s.path },
      h('td', {}, s.path),
      h('td', {}, badge(s.status)),
      h('td', {}, attempts),
      h('td', {}, ms(s.durationMs)),
      h('td', { class: 'err' }, last?.error ? `${last.error.code ?? ''} ${last.error.message}` : ''),
    );
  });
  return h(
    'table',
    { id: 'steps' },
    h(
      'thead',
      {},
      h('tr', {}, ...['step', 'status', 'attempts', 'duration', 'last error'].map((c) => h('th', {}, c))),
    ),
    h('tbody', {}, ...rows),
  );
}

function actions(d: Detail): HTMLElement {
  const box = h('div', { class: 'card', id: 'actions' }, h('h2', {}, 'act on the run'));
  const ended = !['running', 'waiting'].includes(d.run.status);
  if (ended) return box.appendChild(h('p', { class: 'muted' }, 'the run ended')).parentElement as HTMLElement;
  const note = h('p', { class: 'note', id: 'action-note' });
  const post = async (path: string, body: unknown) => {
    note.className = 'note';
    note.textContent = 'sent; waiting for the run’s owner…';
    try {
      const t = token();
      const res = await api<{ applied: boolean; queued?: boolean; error?: string }>(
        `/api/runs/${encodeURIComponent(d.run.id)}/${path}`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(t ? { authorization: `Bearer ${t}` } : {}) },
          body: JSON.stringify(body),
        },
      );
      note.textContent = res.applied
        ? 'applied'
        : res.queued
          ? 'queued: no live engine applied it yet'
          : (res.error ?? 'refused');
      if (!res.applied && !res.queued) note.className = 'note bad';
    } catch (e) {
      note.className = 'note bad';
      note.textContent = (e as Error).message;
    }
  };
  for (const w of d.waiting) {
    const item = h(
      'div',
      { class: 'waiting-item', 'data-waiting': w.path },
      h('strong', {}, w.path),
      h(
        'span',
        { class: 'muted' },
        w.kind === 'wait' ? `waits for '${w.event ?? '?'}'` : 'escalated: needs a decision',
      ),
    );
    if (w.kind === 'escalation') {
      const value = h('input', { placeholder: 'skip value (JSON)', class: 'skip-value' }) as HTMLInputElement;
      const button = (action: string, cls = '') => {
        const b = h('button', { class: cls, 'data-action': action }, action);
        b.onclick = () => {
          const body: Record<string, unknown> = { stepPath: w.path, action };
          if (action === 'skip' && value.value.trim()) body.value = JSON.parse(value.value);
          void post('decide', body);
        };
        return b;
      };
      item.append(button('retry', 'primary'), button('skip'), value, button('abort', 'danger'));
    } else {
      const event = h('input', {
        value: JSON.stringify({ type: w.event ?? '' }),
        size: '40',
        class: 'event-json',
      }) as HTMLInputElement;
      const send = h('button', { class: 'primary', 'data-action': 'send' }, 'send event');
      send.onclick = () => void post('send', { event: JSON.parse(event.value) });
      item.append(event, send);
    }
    box.append(item);
  }
  const reason = h('input', { placeholder: 'reason' }) as HTMLInputElement;
  const cancel = h('button', { class: 'danger', 'data-action': 'cancel' }, 'cancel run');
  cancel.onclick = () => void post('cancel', reason.value ? { reason: reason.value } : {});
  box.append(h('div', { class: 'filters' }, reason, cancel), note);
  if (!token())
    box.append(
      h(
        'p',
        { class: 'muted note' },
        'read-only: open the URL with #token=… that flowstate serve printed to act on runs',
      ),
    );
  return box;
}

const mode = document.getElementById('mode');
if (mode) mode.textContent = token() ? 'token set: writes allowed' : 'read-only';
const match = /^\/runs\/(.+)$/.exec(location.pathname);
void (match ? runPage(decodeURIComponent(match[1] as string)) : listPage());
