/** The run page's step log and its actions (escalation decisions, `waitFor` events, cancel). */
import { api, badge, h, ms, token } from './dom.js';
import type { Detail } from './types.js';

export function stepLog(d: Detail): HTMLElement {
  const rows = d.steps.map((s) => {
    const last = s.attempts.at(-1);
    const attempts = h(
      'details',
      {},
      // The last attempt's number: a step known from the journal or the run's error lists its last attempt only.
      h('summary', {}, String(s.attempts.at(-1)?.attempt ?? 0)),
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

export function actions(d: Detail): HTMLElement {
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
