import type { AnyEventObject } from 'xstate';
import type { WorkflowNode } from '../model/definition.js';
import { failureOf } from '../model/errors.js';
import { skipResult, storeResult, update } from './actions.js';
import type { Compiler, ErrorOf, FailRoute, StateConfig } from './compile.js';

export function waitState(
  compiler: Compiler,
  node: Extract<WorkflowNode, { kind: 'wait' }>,
  next: string,
  fail: FailRoute,
): StateConfig {
  const { name, schema } = node;
  const payloadOf = (event: AnyEventObject) => {
    const { type: _type, ...payload } = event;
    return payload;
  };
  compiler.guards[`${name}.payload`] = ({ event }) => !schema || schema.safeParse(payloadOf(event)).success;
  const timedOut: ErrorOf = (_e, c) =>
    failureOf('WAIT_TIMEOUT', `No '${node.event}' event within ${node.timeoutMs} ms`, {
      stepPath: c.pathPrefix + name,
    });
  return {
    meta: { flowstate: { kind: 'wait', name, event: node.event, timeoutMs: node.timeoutMs } },
    invoke: {
      id: name,
      src: 'flowstate.timer',
      input: { delayMs: node.timeoutMs },
      onDone:
        node.onTimeout === 'skip'
          ? { target: next, actions: update(skipResult(name)) }
          : compiler.failure(compiler.onError(undefined), name, next, fail, timedOut),
    },
    on: {
      [node.event]: {
        guard: `${name}.payload`,
        target: next,
        actions: [
          update(storeResult(name, false, (e) => (schema ? schema.parse(payloadOf(e)) : payloadOf(e)))),
          // The wait began when its deadline timer did: deadline minus timeout, also across a restore.
          ...compiler.learn((l, c, self) => {
            const timer = self.getSnapshot().children[name]?.getSnapshot() as
              | { deadline?: unknown }
              | undefined;
            if (typeof timer?.deadline === 'number')
              l.finished(c.workflowId, c.pathPrefix + name, timer.deadline - node.timeoutMs, 'wait');
          }),
        ],
      },
    },
  };
}
