/** A run's failure as the error it rejects with: the rebuild lives with the table of codes in `model/errors.ts`. */
export { fromSerialized as toFlowstateError } from '../model/errors.js';
