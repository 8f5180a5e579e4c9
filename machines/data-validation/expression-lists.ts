/**
 * What the rule judge (`expression.ts`) can prove safe, as lists: PostgreSQL's own operators, the built-in
 * functions that read only their arguments or the transaction's clock, the built-in types a value may be cast to.
 * Anything not listed is refused: a list grows by a reviewed line here, never by a proposal.
 */

/** Operators (`AEXPR_OP`) allowed, all resolved in pg_catalog. */
export const OPERATORS = new Set([
  '=',
  '<>',
  '!=',
  '<',
  '>',
  '<=',
  '>=',
  '+',
  '-',
  '*',
  '/',
  '%',
  '||',
  '~',
  '~*',
  '!~',
  '!~*',
]);
export const LIKE = new Set(['~~', '!~~', '~~*', '!~~*']);

/** Built-in functions that read only their arguments (immutable) or the transaction's clock (stable). */
export const FUNCTIONS = new Set([
  'lower',
  'upper',
  'length',
  'char_length',
  'character_length',
  'octet_length',
  'btrim',
  'ltrim',
  'rtrim',
  'abs',
  'round',
  'floor',
  'ceil',
  'ceiling',
  'trunc',
  'sign',
  'mod',
  'date_part',
  'extract',
  'date_trunc',
  'now',
  'starts_with',
  'left',
  'right',
  'substring',
  'substr',
  'position',
  'strpos',
  'regexp_like',
  'array_length',
  'cardinality',
  'isfinite',
  'jsonb_typeof',
  'json_typeof',
]);

/** Types a value may be cast to (their input and cast functions are PostgreSQL's own). */
export const TYPES = new Set([
  'int2',
  'int4',
  'int8',
  'smallint',
  'integer',
  'bigint',
  'numeric',
  'decimal',
  'float4',
  'float8',
  'text',
  'varchar',
  'bpchar',
  'date',
  'timestamp',
  'timestamptz',
  'time',
  'interval',
  'bool',
  'boolean',
  'uuid',
]);

export const CLOCK: Record<string, string> = {
  SVFOP_CURRENT_DATE: 'CURRENT_DATE',
  SVFOP_CURRENT_TIMESTAMP: 'CURRENT_TIMESTAMP',
  SVFOP_LOCALTIMESTAMP: 'LOCALTIMESTAMP',
};

export const BOOLEAN_TESTS: Record<string, string> = {
  IS_TRUE: 'IS TRUE',
  IS_NOT_TRUE: 'IS NOT TRUE',
  IS_FALSE: 'IS FALSE',
  IS_NOT_FALSE: 'IS NOT FALSE',
  IS_UNKNOWN: 'IS UNKNOWN',
  IS_NOT_UNKNOWN: 'IS NOT UNKNOWN',
};
