/**
 * Draws a statechart as SVG with dagre's layered layout: compound and parallel states are clusters around their
 * children, the states a run is in are lit (`active`). The layout is computed once per chart and kept, so a live
 * update only moves the highlight.
 */
import { Graph, layout } from '@dagrejs/dagre';
import type { ChartData } from './types.js';

const SVG = 'http://www.w3.org/2000/svg';
const cache = new Map<string, SVGSVGElement>();

function el(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Draws `chart` into `into`, lighting the states in `active`. */
export function drawChart(into: HTMLElement, chart: ChartData, active: ReadonlySet<string>): void {
  let svg = cache.get(chart.id);
  if (!svg) {
    svg = layoutChart(chart);
    cache.set(chart.id, svg);
  }
  for (const g of svg.querySelectorAll<SVGGElement>('[data-state]'))
    g.classList.toggle('active', active.has(g.dataset.state ?? ''));
  into.replaceChildren(svg);
}

function layoutChart(chart: ChartData): SVGSVGElement {
  const g = new Graph({ compound: true, multigraph: true });
  g.setGraph({ rankdir: 'TB', nodesep: 24, ranksep: 36, marginx: 12, marginy: 12 });
  g.setDefaultEdgeLabel(() => ({}));
  const parents = new Set(chart.nodes.map((n) => n.parent).filter((p): p is string => p !== undefined));
  const childrenOf = (id: string) => chart.nodes.filter((n) => n.parent === id);
  for (const n of chart.nodes) {
    const width = Math.max(70, n.label.length * 7 + 24);
    g.setNode(
      n.id,
      parents.has(n.id) ? { label: n.label, paddingTop: 24 } : { label: n.label, width, height: 32 },
    );
  }
  for (const n of chart.nodes) if (n.parent) g.setParent(n.id, n.parent);
  // dagre lays out edges between leaves: an edge into a cluster goes to its first state, out of it from its last.
  const leaf = (id: string, end: 'in' | 'out'): string => {
    const kids = childrenOf(id);
    const next = end === 'in' ? kids[0] : kids.at(-1);
    return next ? leaf(next.id, end) : id;
  };
  chart.edges.forEach((e, i) => {
    const from = leaf(e.from, 'out');
    const to = leaf(e.to, 'in');
    if (from !== to)
      g.setEdge(from, to, { label: e.label, width: e.label.length * 6, height: 12, labelpos: 'c' }, `e${i}`);
  });
  layout(g);
  const { width = 100, height = 100 } = g.graph();
  const svg = el('svg', { width, height, viewBox: `0 0 ${width} ${height}` }) as SVGSVGElement;
  const defs = el('defs', {});
  const marker = el('marker', {
    id: 'arrow',
    viewBox: '0 0 10 10',
    refX: 9,
    refY: 5,
    markerWidth: 7,
    markerHeight: 7,
    orient: 'auto',
  });
  marker.append(el('path', { d: 'M0,0L10,5L0,10z', fill: '#9aa3b5' }));
  defs.append(marker);
  svg.append(defs);
  // Clusters first (outermost first), then edges, then states on top.
  const depth = (id: string): number => {
    const p = chart.nodes.find((n) => n.id === id)?.parent;
    return p ? 1 + depth(p) : 0;
  };
  /** The rectangle of a laid-out node (dagre gives its centre and size), with corners of radius `rx`. */
  const boxRect = (box: { x: number; y: number; width: number; height: number }, rx: number) =>
    el('rect', {
      x: box.x - box.width / 2,
      y: box.y - box.height / 2,
      width: box.width,
      height: box.height,
      rx,
    });
  const clusters = chart.nodes.filter((n) => parents.has(n.id)).sort((a, b) => depth(a.id) - depth(b.id));
  for (const n of clusters) {
    const box = g.node(n.id);
    const group = el('g', { class: 'cluster', 'data-state': n.id });
    group.append(
      boxRect(box, 8),
      el(
        'text',
        { x: box.x - box.width / 2 + 8, y: box.y - box.height / 2 + 16 },
        n.type === 'parallel' ? `${n.label} ∥` : n.label,
      ),
    );
    svg.append(group);
  }
  for (const ref of g.edges()) {
    const edge = g.edge(ref);
    const points = edge.points ?? [];
    const group = el('g', { class: 'edge' });
    group.append(
      el('path', {
        d: `M${points.map((p: { x: number; y: number }) => `${p.x},${p.y}`).join('L')}`,
        'marker-end': 'url(#arrow)',
      }),
    );
    if (edge.label && edge.x !== undefined && edge.y !== undefined)
      group.append(el('text', { x: edge.x, y: edge.y + 4, 'text-anchor': 'middle' }, String(edge.label)));
    svg.append(group);
  }
  for (const n of chart.nodes.filter((x) => !parents.has(x.id))) {
    const box = g.node(n.id);
    const group = el('g', { class: `state${n.kind ? ` ${n.kind}` : ''}`, 'data-state': n.id });
    group.append(
      boxRect(box, n.type === 'final' ? 16 : 6),
      el('text', { x: box.x, y: box.y + 4, 'text-anchor': 'middle' }, n.label),
    );
    svg.append(group);
  }
  return svg;
}
