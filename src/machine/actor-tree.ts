import type { AnyActorRef } from 'xstate';
import type { StepSnapshot } from './step-types.js';

/** Every actor of a run, depth first from the root: the workflow machine, step actors, child workflows, timers. */
export function* actorTree(root: AnyActorRef): Generator<AnyActorRef> {
  yield root;
  const children = (root.getSnapshot() as { children?: Record<string, AnyActorRef | undefined> }).children;
  if (!children) return;
  for (const child of Object.values(children)) if (child) yield* actorTree(child);
}

/** Whether a snapshot is a step actor's. */
export function isStepSnapshot(snapshot: unknown): snapshot is StepSnapshot {
  return typeof snapshot === 'object' && snapshot !== null && 'phase' in snapshot && 'history' in snapshot;
}

/** The step actor running a step path, if it is alive. */
export function findStepActor(root: AnyActorRef, stepPath: string): AnyActorRef | undefined {
  for (const actor of actorTree(root)) {
    const snapshot = actor.getSnapshot();
    if (isStepSnapshot(snapshot) && snapshot.input.path === stepPath) return actor;
  }
  return undefined;
}

/** A `waitFor` step that is waiting now, in the machine actor that owns it. */
export interface ActiveWait {
  readonly actor: AnyActorRef;
  readonly name: string;
  readonly event: string;
}

/** Every `waitFor` step waiting now, across the run and its child workflows. */
export function activeWaits(root: AnyActorRef): ActiveWait[] {
  const waits: ActiveWait[] = [];
  for (const actor of actorTree(root)) {
    const snapshot = actor.getSnapshot() as { status?: string; getMeta?: () => Record<string, unknown> };
    if (snapshot.status !== 'active' || typeof snapshot.getMeta !== 'function') continue;
    for (const meta of Object.values(snapshot.getMeta())) {
      const info = (meta as { flowstate?: { kind?: string; name?: string; event?: string } } | undefined)
        ?.flowstate;
      if (info?.kind === 'wait' && info.name && info.event)
        waits.push({ actor, name: info.name, event: info.event });
    }
  }
  return waits;
}
