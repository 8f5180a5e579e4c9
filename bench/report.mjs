const LABELS = {
  plain: 'plain async',
  xstate: 'raw XState',
  flowstate: 'Flowstate',
  memory: 'Flowstate, in memory',
  sqlite: 'Flowstate + SQLite',
  postgres: 'Flowstate + PostgreSQL',
};
const ORDER = Object.keys(LABELS);

/** A number with 3 significant digits and thousands separators. */
export const num = (v) => (Number.isFinite(v) ? Number(v.toPrecision(3)).toLocaleString('en') : '—');

/** Cost of `r` relative to `base`: > 1 means slower (or heavier) than the base, whichever way the unit points. */
export function costRatio(metric, key, baseKey) {
  const r = metric.results[key];
  const base = metric.results[baseKey];
  if (!r || !base) return Number.NaN;
  return metric.better === 'higher' ? base.median / r.median : r.median / base.median;
}

const ratio = (v) => (Number.isFinite(v) ? `${num(v)}×` : '—');

/** Rows of the results table: one per metric and contender. */
export function rows(metrics) {
  const out = [];
  for (const metric of metrics) {
    const keys = Object.keys(metric.results).sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b));
    for (const key of keys) {
      const r = metric.results[key];
      const vs = (base) => (key === base ? '1×' : ratio(costRatio(metric, key, base)));
      out.push([
        metric.title,
        LABELS[key],
        num(r.median),
        num(r.p99),
        metric.unit,
        String(r.n),
        vs('xstate'),
        vs('plain'),
      ]);
    }
  }
  return out;
}

export const HEADER = ['case', 'contender', 'median', 'p99', 'unit', 'n', '× raw XState', '× plain async'];

/** A fixed-width text table for the console. */
export function textTable(header, body) {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells) =>
    cells.map((c, i) => (i >= 2 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** A GitHub-flavoured markdown table. */
export function markdownTable(header, body) {
  const align = header.map((_, i) => (i >= 2 ? '---:' : '---'));
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(align), ...body.map(line)].join('\n');
}

/** Rows of the targets table. */
export function targetRows(verdicts) {
  return verdicts.map((v) => [v.source, v.text, v.measured, v.status]);
}

/** Flowstate's ratios, one line per metric, for the summary. */
export function ratioRows(metrics) {
  return metrics
    .filter((m) => !m.title.startsWith('  ') && !m.baseline)
    .map((m) => [
      m.title,
      ratio(costRatio(m, 'flowstate', 'xstate')),
      ratio(costRatio(m, 'flowstate', 'plain')),
      ratio(costRatio(m, 'xstate', 'plain')),
    ]);
}

/** Ratios of metrics that compare Flowstate with itself (durable stores against the in-memory engine). */
export function baselineRows(metrics) {
  const out = [];
  for (const m of metrics.filter((x) => x.baseline)) {
    for (const key of Object.keys(m.results).filter((k) => k !== m.baseline)) {
      out.push([m.title, `${LABELS[key]} ÷ ${LABELS[m.baseline]}`, ratio(costRatio(m, key, m.baseline))]);
    }
  }
  return out;
}
