/** Naming rules live in the model layer (the compiler needs them too); re-exported here for the DSL. */
export { DATA_PATH_PATTERN, isDataPath, isName, isReservedEventType, NAME_PATTERN } from '../model/names.js';
