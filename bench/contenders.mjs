import { flowstate } from './contenders/flowstate.mjs';
import { plainAsync } from './contenders/plain.mjs';
import { rawXState } from './contenders/xstate.mjs';

/** The three contenders, in table order: the floor, the raw XState machine, Flowstate. */
export const CONTENDERS = ['plain', 'xstate', 'flowstate'];

const factories = { plain: plainAsync, xstate: rawXState, flowstate };

/** A fresh contender by key. */
export function contender(key) {
  const make = factories[key];
  if (!make) throw new Error(`unknown contender '${key}' (known: ${CONTENDERS.join(', ')})`);
  return make();
}

/** Fresh instances of all three. */
export function contenders() {
  return CONTENDERS.map(contender);
}
