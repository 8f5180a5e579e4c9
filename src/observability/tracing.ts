/**
 * OpenTelemetry spans of an engine's runs: one per run (`flowstate.run`) and one per step attempt
 * (`flowstate.step`, a child of its run's), through `@opentelemetry/api` only. Whatever SDK the application set up
 * (or none: the API's no-op tracer) receives them. The API is loaded only when tracing is asked for.
 */
import { createRequire } from 'node:module';
import type { Span, Tracer } from '@opentelemetry/api';
import type { RunEvents } from './run-observer.js';

/** The `tracing` option of `createEngine`: `true` for the global tracer provider's `flowstate` tracer, or a tracer. */
export type TracingOption = boolean | { readonly tracer: Tracer };

/** Span attribute names, following OpenTelemetry's dotted style under a `flowstate.` namespace. */
const SPAN_ATTRIBUTES = {
  runId: 'flowstate.run.id',
  workflow: 'flowstate.workflow',
  status: 'flowstate.run.status',
  step: 'flowstate.step.path',
  attempt: 'flowstate.step.attempt',
  agent: 'flowstate.step.agent',
  errorCode: 'flowstate.error.code',
} as const;

/**
 * Run events that open and close spans. Attempt spans carry the attempt's real start and end times (from the step
 * actor's record), so a span is right even when the snapshot reporting it came a little later.
 *
 * @example
 * ```ts
 * createEngine({ agents, tracing: { tracer: trace.getTracer('orders') } });
 * ```
 */
export function engineTracing(option: Exclude<TracingOption, false>): RunEvents {
  const api = createRequire(import.meta.url)('@opentelemetry/api') as typeof import('@opentelemetry/api');
  const tracer = option === true ? api.trace.getTracer('flowstate') : option.tracer;
  const runs = new Map<string, Span>();
  const attempts = new Map<string, Span>();
  const keyOf = (runId: string, path: string, attempt: number) => `${runId}\u0000${path}\u0000${attempt}`;
  const fail = (span: Span, error: { message?: string; code?: string; name?: string } | undefined) => {
    span.setStatus({ code: api.SpanStatusCode.ERROR, message: error?.message ?? 'failed' });
    if (!error) return;
    if (error.code) span.setAttribute(SPAN_ATTRIBUTES.errorCode, error.code);
    span.recordException({
      name: error.name ?? 'Error',
      message: error.message ?? '',
      ...(error.code ? { code: error.code } : {}),
    });
  };
  return {
    runStarted(run) {
      const span = tracer.startSpan('flowstate.run', {
        attributes: { [SPAN_ATTRIBUTES.runId]: run.id, [SPAN_ATTRIBUTES.workflow]: run.workflow },
      });
      runs.set(run.id, span);
    },
    runEnded(run, status, error) {
      const span = runs.get(run.id);
      if (!span) return;
      runs.delete(run.id);
      span.setAttribute(SPAN_ATTRIBUTES.status, status ?? 'handed-over');
      if (status === 'done') span.setStatus({ code: api.SpanStatusCode.OK });
      else if (status !== undefined) fail(span, error);
      span.end();
    },
    attemptStarted({ run, path, record }) {
      const parent = runs.get(run.id);
      const ctx = parent ? api.trace.setSpan(api.context.active(), parent) : api.context.active();
      const span = tracer.startSpan(
        'flowstate.step',
        {
          startTime: record.startedAt,
          attributes: {
            [SPAN_ATTRIBUTES.runId]: run.id,
            [SPAN_ATTRIBUTES.workflow]: run.workflow,
            [SPAN_ATTRIBUTES.step]: path,
            [SPAN_ATTRIBUTES.attempt]: record.attempt,
            [SPAN_ATTRIBUTES.agent]: record.agent,
          },
        },
        ctx,
      );
      attempts.set(keyOf(run.id, path, record.attempt), span);
    },
    attemptEnded({ run, path, record }, stopped) {
      const key = keyOf(run.id, path, record.attempt);
      const span = attempts.get(key);
      if (!span) return;
      attempts.delete(key);
      if (stopped) fail(span, { message: 'stopped', name: 'Stopped' });
      else if (record.error) fail(span, record.error);
      else span.setStatus({ code: api.SpanStatusCode.OK });
      span.end(record.endedAt);
    },
  };
}
