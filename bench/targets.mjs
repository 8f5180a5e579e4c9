/**
 * The targets, from the original brief and from issues 8, 12 and 17, each judged on this run's Flowstate figures.
 * `check` returns { measured, ok } or undefined when the case did not run.
 */

const fmt = (v, digits = 3) => Number(v.toPrecision(digits)).toLocaleString('en');
const fs = (metrics, id) => metrics.find((m) => m.id === id)?.results.flowstate;

const durable = (metrics, key, limitUs) => {
  const metric = metrics.find((x) => x.id === 'durable');
  if (!metric) return undefined;
  const r = metric.results[key];
  if (!r) return { measured: `no ${key === 'postgres' ? 'PostgreSQL' : key} in this run`, ok: null };
  return { measured: `${fmt(r.median)} µs a step`, ok: r.median < limitUs };
};

/** Flowstate's cost over raw XState's in one case of this run, as a ratio of medians (for rates, the inverse). */
const costVsRaw = (metrics, id) => {
  const metric = metrics.find((x) => x.id === id);
  const f = metric?.results.flowstate;
  const x = metric?.results.xstate;
  if (!f || !x) return undefined;
  return metric.better === 'higher' ? x.median / f.median : f.median / x.median;
};

/** An issue 17 target on Flowstate's cost against raw XState's in the same run, over one or more cases. */
const vsRaw = (text, ids, limit) => ({
  source: 'issue 17',
  text,
  check: (m) => {
    const ratios = ids.map((id) => costVsRaw(m, id));
    if (ratios.some((r) => r === undefined)) return undefined;
    return {
      measured: `${ratios.map((r) => `${fmt(r)}×`).join(', ')} raw XState's`,
      ok: ratios.every((r) => r <= limit),
    };
  },
});

export const TARGETS = [
  vsRaw('a step costs ≤ 1.0× raw XState (100-step sequence, median)', ['step'], 1),
  vsRaw("a parked run's heap ≤ 1.0× raw XState's (10,000 live)", ['parked'], 1),
  vsRaw(
    "throughput ≥ 1.0× raw XState's (1,000 and 10,000 concurrent 10-step workflows; cost shown)",
    ['throughput1000', 'throughput10000'],
    1,
  ),
  vsRaw('import → first workflow done ≤ 1.5× raw XState (median)', ['startup'], 1.5),
  {
    source: 'issue 17',
    text: 'map of 10,000 items at concurrency 1,000 within 2× the time at concurrency 10 (median)',
    check: (m) => {
      const narrow = fs(m, 'map10kC10');
      const wide = fs(m, 'map10kC1000');
      if (!narrow || !wide) return undefined;
      const ratio = wide.median / narrow.median;
      return {
        measured: `${fmt(ratio)}× (${fmt(wide.median)} vs ${fmt(narrow.median)} ms)`,
        ok: ratio <= 2,
      };
    },
  },
  {
    source: 'issue 17',
    text: 'map of 100,000 instant items < 10 s and < 200 MB RSS (median)',
    check: (m) => {
      const time = fs(m, 'map100k');
      const rss = fs(m, 'map100kRss');
      return (
        time &&
        rss && {
          measured: `${fmt(time.median / 1000)} s, ${fmt(rss.median)} MB`,
          ok: time.median < 10_000 && rss.median < 200,
        }
      );
    },
  },
  {
    source: 'brief',
    text: 'workflow start < 200 ms (start() returning a run, p99)',
    check: (m) => {
      const r = fs(m, 'startOnly');
      return r && { measured: `median ${fmt(r.median)} µs, p99 ${fmt(r.p99)} µs`, ok: r.p99 < 200_000 };
    },
  },
  {
    source: 'brief',
    text: 'step transition < 50 ms (p99)',
    check: (m) => {
      const r = fs(m, 'step');
      return r && { measured: `median ${fmt(r.median)} µs, p99 ${fmt(r.p99)} µs`, ok: r.p99 < 50_000 };
    },
  },
  {
    source: 'brief',
    text: '< 100 MB per component (heap of 10,000 parked workflows)',
    check: (m) => {
      const r = fs(m, 'parkedTotal');
      return r && { measured: `${fmt(r.median)} MB`, ok: r.median < 100 };
    },
  },
  {
    source: 'issue 8',
    text: 'step overhead ≤ 1.5× raw XState, side by side (median)',
    check: (m) => {
      const metric = m.find((x) => x.id === 'step');
      if (!metric) return undefined;
      const ratio = metric.results.flowstate.median / metric.results.xstate.median;
      return {
        measured: `${fmt(ratio)}× (${fmt(metric.results.flowstate.median)} vs ${fmt(metric.results.xstate.median)} µs)`,
        ok: ratio <= 1.5,
      };
    },
  },
  {
    source: 'issue 8',
    text: 'step overhead < 20 µs a step (median)',
    check: (m) => {
      const r = fs(m, 'step');
      return r && { measured: `${fmt(r.median)} µs`, ok: r.median < 20 };
    },
  },
  {
    source: 'issue 8',
    text: 'import → first workflow done < 30 ms (median)',
    check: (m) => {
      const r = fs(m, 'startup');
      return r && { measured: `${fmt(r.median)} ms`, ok: r.median < 30 };
    },
  },
  {
    source: 'issue 8',
    text: 'parked workflow < 9 KB of heap (10,000 < 90 MB)',
    check: (m) => {
      const r = fs(m, 'parked');
      const all = fs(m, 'parkedTotal');
      return r && { measured: `${fmt(r.median)} KB (${fmt(all.median)} MB for all)`, ok: r.median < 9 };
    },
  },
  {
    source: 'issue 8',
    text: '≥ 2,000 ten-step workflows/s with 1,000 in flight (median)',
    check: (m) => {
      const r = fs(m, 'throughput1000');
      return r && { measured: `${fmt(r.median)} workflows/s`, ok: r.median >= 2_000 };
    },
  },
  {
    source: 'issue 8',
    text: 'progress emission p99 < 0.1 ms',
    check: (m) => {
      const r = fs(m, 'progress');
      return r && { measured: `median ${fmt(r.median)} µs, p99 ${fmt(r.p99)} µs`, ok: r.p99 < 100 };
    },
  },
  {
    source: 'issue 12',
    text: 'durable step on SQLite ≤ 50 µs amortized (leases, claims, batched commits, median)',
    check: (m) => durable(m, 'sqlite', 50),
  },
  {
    source: 'issue 12',
    text: 'durable step on PostgreSQL ≤ 150 µs amortized (median)',
    check: (m) => durable(m, 'postgres', 150),
  },
  {
    source: 'issue 12',
    text: 'lease renewal of 1,000 owned runs, one statement (PostgreSQL, median; every ttl/3 = 5 s)',
    check: (m) => {
      const r =
        m.find((x) => x.id === 'renewal')?.results.postgres ??
        m.find((x) => x.id === 'renewal')?.results.sqlite;
      return r && { measured: `${fmt(r.median)} ms a renewal`, ok: r.median < 50 };
    },
  },
  {
    source: 'issue 17',
    text: 'passivated runs on SQLite: heap < 100 MB (100,000 in the full run)',
    check: (m) => {
      const r = m.find((x) => x.id === 'passivatedHeap')?.results.sqlite;
      return r && { measured: `${fmt(r.median)} MB`, ok: r.median < 100 };
    },
  },
  {
    source: 'issue 17',
    text: 'wake-up of a passivated run on an event p99 < 20 ms',
    check: (m) => {
      const r = m.find((x) => x.id === 'passivatedWake')?.results.sqlite;
      return r && { measured: `median ${fmt(r.median)} ms, p99 ${fmt(r.p99)} ms`, ok: r.p99 < 20 };
    },
  },
  {
    source: 'issue 17',
    text: 'due timers of passivated runs fire within 100 ms of their deadlines (1,000 in the full run; all, never early)',
    check: (m) => {
      const r = m.find((x) => x.id === 'passivatedTimers')?.results.sqlite;
      return (
        r && {
          measured: `p99 ${fmt(r.p99)} ms late, worst ${fmt(r.max)} ms, ${r.early} early`,
          ok: r.max <= 100 && r.early === 0,
        }
      );
    },
  },
];

/** Each target with its verdict: `met`, `missed`, or `not measured` (with why). */
export function judge(metrics) {
  return TARGETS.map((t) => {
    if (t.pending) return { ...t, status: 'not measured', measured: t.pending };
    const r = t.check(metrics);
    if (!r) return { ...t, status: 'not measured', measured: 'case not run' };
    const status = r.ok === null ? 'not measured' : r.ok ? 'met' : 'MISSED';
    return { ...t, status, measured: r.measured };
  });
}
