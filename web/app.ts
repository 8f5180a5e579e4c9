/**
 * The web view's page (plain TypeScript and DOM, bundled with rolldown into dist/bundle/web/app.js): the runs list
 * at `/` and a run at `/runs/<id>`, both kept live by the server's SSE streams. Writes send the token from
 * `#token=...` (kept in this tab's sessionStorage) as `Authorization: Bearer`.
 */
import { drawChart } from './chart.js';
import { api, badge, bar, h, main, ms, time, token } from './dom.js';
import { actions, stepLog } from './run-parts.js';
import type { Detail, Row } from './types.js';

// ---- the runs list ----

async function listPage() {
  const params = new URLSearchParams(location.search);
  const limit = 50;
  const offset = Math.max(0, Number.parseInt(params.get('offset') ?? '0', 10) || 0);
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
  const row = (r: Row) =>
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
    );
  /** The runs on the page, by id, with their rows. */
  let shown = new Map<string, { run: Row; tr: HTMLElement }>();
  const load = async () => {
    const q = new URLSearchParams({ limit: String(limit), offset: String(offset) });
    if (params.get('workflow')) q.set('workflow', params.get('workflow') as string);
    if (params.get('status')) q.set('status', params.get('status') as string);
    const page = await api<{ runs: Row[]; total: number | null; more: boolean }>(`/api/runs?${q}`);
    shown = new Map(page.runs.map((r) => [r.id, { run: r, tr: row(r) }]));
    body.replaceChildren(...[...shown.values()].map((s) => s.tr));
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
  const statuses = (params.get('status') ?? '').split(',').filter((s) => s !== '');
  const matches = (r: Row) =>
    (!params.get('workflow') || r.workflow === params.get('workflow')) &&
    (statuses.length === 0 || statuses.includes(r.status));
  // What changed, read at most every 50 ms: the page again when its set of runs may have changed, else only the
  // unfinished runs on it that moved (their percent and ETA need the server to read their state).
  let reload = false;
  const moved = new Set<string>();
  let timer: number | undefined;
  let busy = false;
  const flush = async () => {
    if (busy) return;
    busy = true;
    try {
      while (reload || moved.size > 0) {
        if (reload) {
          reload = false;
          moved.clear();
          await load();
          continue;
        }
        const ids = [...moved];
        moved.clear();
        const q = new URLSearchParams(ids.map((id) => ['id', id]));
        const { runs } = await api<{ runs: Row[] }>(`/api/runs?${q}`);
        for (const r of runs) {
          const was = shown.get(r.id);
          if (!was) continue;
          const tr = row(r);
          was.tr.replaceWith(tr);
          shown.set(r.id, { run: r, tr });
        }
      }
    } catch {
      // The server is away: the next change tries again.
    } finally {
      busy = false;
    }
  };
  const changed = (rows: Row[]) => {
    const oldest = Math.min(...[...shown.values()].map((s) => s.run.createdAt));
    for (const r of rows) {
      const on = shown.get(r.id);
      if (on) {
        if (!matches(r)) reload = true;
        else if (r.status === 'running' || r.status === 'waiting') moved.add(r.id);
        else {
          // An ended run's row is whole as pushed.
          const tr = row(r);
          on.tr.replaceWith(tr);
          shown.set(r.id, { run: r, tr });
        }
      } else if (matches(r) && (offset > 0 || shown.size < limit || r.createdAt >= oldest)) {
        // A run that belongs on this page (or, past the first page, shifts it).
        reload = true;
      }
    }
    schedule();
  };
  const schedule = () => {
    clearTimeout(timer);
    timer = window.setTimeout(() => void flush(), 50);
  };
  // The stream first: the page read once it is ready misses no change (one that comes during the read reads it
  // again).
  const events = new EventSource('/api/runs/events');
  events.addEventListener('runs', (e) => changed(JSON.parse((e as MessageEvent<string>).data) as Row[]));
  let first = true;
  await new Promise<void>((resolve) => {
    events.addEventListener('ready', () => {
      // Ready again after the stream was lost (the server restarted, say): what changed meanwhile is read.
      if (!first) {
        reload = true;
        schedule();
      }
      first = false;
      resolve();
    });
    window.setTimeout(resolve, 1_000);
  });
  first = false;
  reload = true;
  await flush();
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
    // A compensation that failed left its step's changes in place: said on the run's page.
    for (const c of r.error?.notUndone ?? [])
      cards[0]?.append(h('p', { class: 'note bad not-undone' }, `NOT undone (${c.stepPath}): ${c.message}`));
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

const mode = document.getElementById('mode');
if (mode) mode.textContent = token() ? 'token set: writes allowed' : 'read-only';
const match = /^\/runs\/(.+)$/.exec(location.pathname);
void (match ? runPage(decodeURIComponent(match[1] as string)) : listPage());
