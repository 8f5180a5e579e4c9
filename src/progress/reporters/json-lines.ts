/**
 * The JSON-lines reporter: one JSON object per emission, for log collectors and your own UI.
 */
import type { Observable } from 'rxjs';
import { type Reporter, type ReporterStream, report } from './format.js';

/**
 * Writes each value of a stream (a `Progress`, or a step event from `run.events$`) as one line of JSON.
 *
 * @example
 * ```ts
 * import { createWriteStream } from 'node:fs';
 * const reporter = jsonLinesReporter(run.progress$, createWriteStream('progress.jsonl'));
 * await reporter.done;
 * ```
 */
export function jsonLinesReporter<T>(source: Observable<T>, stream: ReporterStream): Reporter {
  return report(
    source,
    (value) => stream.write(`${JSON.stringify(value)}\n`),
    () => {},
  );
}
