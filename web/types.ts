/** What the page reads from the API: the shapes of src/cli/serve/run-view.ts and chart.ts, as JSON. */

export interface Row {
  id: string;
  workflow: string;
  status: string;
  createdAt: number;
  updatedAt: number;
  durationMs: number;
  percent: number | null;
  etaMs: number | null;
  owner?: string;
  error?: { message: string; code?: string; notUndone?: { stepPath: string; message: string }[] };
}

export interface ChartData {
  id: string;
  nodes: { id: string; label: string; parent?: string; type: string; kind?: string; event?: string }[];
  edges: { from: string; to: string; label: string }[];
}

export interface Detail {
  run: Row & { input: unknown; output?: unknown };
  steps: {
    path: string;
    status: string;
    durationMs?: number;
    attempts: {
      attempt: number;
      agent?: string;
      startedAt?: number;
      endedAt?: number;
      error?: { message: string; code?: string };
    }[];
  }[];
  active: string[];
  waiting: { path: string; kind: 'escalation' | 'wait'; event?: string }[];
  chart: ChartData | null;
}
