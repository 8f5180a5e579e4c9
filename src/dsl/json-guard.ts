/**
 * The first gate for untrusted workflow JSON: it parses a string and inspects the value before zod sees it,
 * so that nothing deeper, larger or stranger than plain JSON reaches a recursive parser or an object builder.
 */
import type { z } from 'zod';
import { ConfigurationError, type DefinitionProblem, type IssuePath } from '../model/errors.js';
import { NAME_PATTERN } from './names.js';

/** Bounds on untrusted JSON. */
export interface JSONLimits {
  /** The longest accepted JSON text, in UTF-8 bytes. @default 1 MiB */
  readonly maxBytes: number;
  /** The deepest accepted nesting of objects and arrays. @default 64 */
  readonly maxDepth: number;
  /** The most accepted values (objects, arrays, keys' values and items) in all. @default 100000 */
  readonly maxNodes: number;
}

/** The bounds `fromJSON` uses when given none. */
const DEFAULT_JSON_LIMITS: JSONLimits = Object.freeze({
  maxBytes: 1024 * 1024,
  maxDepth: 64,
  maxNodes: 100_000,
});

/**
 * Keys that reach an object's prototype when assigned (`__proto__`) or that pollution attacks aim at.
 * Nothing in the JSON form uses them, so they are refused anywhere, even inside embedded JSON Schemas.
 */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Past this many, more problems only bloat the error message (a megabyte of bad JSON could otherwise make
 * one of tens of megabytes); the input is clearly not a workflow.
 */
const MAX_PROBLEMS = 1000;

/** What {@link inspectJSON} found: the value to hand to zod, or the problems that stop it. */
export type Inspection =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly problems: DefinitionProblem[] };

/** Merges caller limits over the defaults, refusing ones that make no sense (a caller bug, not bad JSON). */
export function resolveLimits(options: Partial<JSONLimits> = {}): JSONLimits {
  const limits = { ...DEFAULT_JSON_LIMITS };
  for (const key of ['maxBytes', 'maxDepth', 'maxNodes'] as const) {
    const value = options[key];
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < 1) {
      throw new ConfigurationError(
        `fromJSON option \`${key}\` must be a positive integer, got ${String(value)}`,
      );
    }
    limits[key] = value;
  }
  return limits;
}

/**
 * Parses `json` if it is a string, then walks the value without recursion. Refuses text over `maxBytes`,
 * nesting over `maxDepth`, more than `maxNodes` values, the keys `__proto__`, `constructor` and `prototype`,
 * and anything JSON.parse could not have produced (functions, class instances, getters, holes, NaN...).
 */
export function inspectJSON(json: unknown, limits: JSONLimits): Inspection {
  let value = json;
  if (typeof json === 'string') {
    // A string longer than the cap in UTF-16 units is longer in UTF-8 too: refuse it before measuring.
    if (json.length > limits.maxBytes || Buffer.byteLength(json, 'utf8') > limits.maxBytes) {
      return fail('too-large', [], `The JSON text is larger than ${limits.maxBytes} bytes`);
    }
    try {
      value = JSON.parse(json);
    } catch (error) {
      const reason = error instanceof Error ? error.message.slice(0, 200) : 'unreadable';
      return fail('invalid-json', [], `The text is not valid JSON: ${reason}`);
    }
  }
  const problems = walk(value, limits);
  return problems.length === 0 ? { ok: true, value } : { ok: false, problems };
}

interface Pending {
  readonly value: unknown;
  readonly path: IssuePath;
  /** How many objects and arrays enclose this value. */
  readonly depth: number;
}

function walk(root: unknown, limits: JSONLimits): DefinitionProblem[] {
  const problems: DefinitionProblem[] = [];
  const report = (code: string, path: IssuePath, message: string): void => {
    problems.push({ code, path, message });
  };
  // Explicit stack: a hostile value must not be able to blow the call stack of the walker that guards the rest.
  const stack: Pending[] = [{ value: root, path: [], depth: 0 }];
  let count = 0;
  let tooDeep = false;
  while (stack.length > 0) {
    if (problems.length >= MAX_PROBLEMS) {
      report('too-many-problems', [], `Stopped after ${MAX_PROBLEMS} problems`);
      break;
    }
    const { value, path, depth } = stack.pop()!;
    count += 1;
    if (value === null || typeof value === 'string' || typeof value === 'boolean') continue;
    if (typeof value === 'number') {
      if (!Number.isFinite(value))
        report('not-json', path, 'Expected a finite number, as JSON has no NaN or Infinity');
      continue;
    }
    if (typeof value !== 'object') {
      report('not-json', path, `Expected plain JSON data, got a ${typeof value}`);
      continue;
    }
    if (depth >= limits.maxDepth) {
      // Cycles in an already-parsed value end here too: they are infinitely deep.
      if (!tooDeep) report('too-deep', path, `The JSON nests deeper than ${limits.maxDepth} levels`);
      tooDeep = true;
      continue;
    }
    // Sized before copying, so that a sparse array claiming a billion items costs nothing.
    const size = Array.isArray(value) ? value.length : Object.keys(value).length;
    if (count + stack.length + size > limits.maxNodes) {
      report('too-large', path, `The JSON holds more than ${limits.maxNodes} values`);
      break;
    }
    const children = Array.isArray(value)
      ? arrayChildren(value, path, report)
      : objectChildren(value, path, report);
    if (children === undefined) continue;
    // Reversed, so that problems come out in document order.
    for (let i = children.length - 1; i >= 0; i -= 1) {
      const [key, child] = children[i]!;
      stack.push({ value: child, path: [...path, key], depth: depth + 1 });
    }
  }
  return problems;
}

type Report = (code: string, path: IssuePath, message: string) => void;
type Children = Array<readonly [string | number, unknown]>;

function arrayChildren(value: unknown[], path: IssuePath, report: Report): Children | undefined {
  if (Object.getPrototypeOf(value) !== Array.prototype) {
    report('not-json', path, 'Expected a plain array');
    return undefined;
  }
  const children: Children = [];
  for (let i = 0; i < value.length; i += 1) {
    const descriptor = Object.getOwnPropertyDescriptor(value, i);
    if (descriptor === undefined || !('value' in descriptor)) {
      report('not-json', [...path, i], 'Expected an array item (holes and getters are not JSON)');
      return undefined;
    }
    children.push([i, descriptor.value]);
  }
  // Named properties on an array are invisible to JSON.stringify and zod alike: refuse what would vanish.
  const keys = Object.keys(value);
  if (keys.length !== value.length) {
    for (const key of keys) {
      if (/^(?:0|[1-9][0-9]*)$/.test(key)) continue;
      if (FORBIDDEN_KEYS.has(key)) report('forbidden-key', [...path, key], forbiddenMessage(key));
      else report('not-json', [...path, key], 'Expected an array without named properties');
    }
    return undefined;
  }
  return children;
}

function objectChildren(value: object, path: IssuePath, report: Report): Children | undefined {
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    report('not-json', path, 'Expected a plain object, not a class instance');
    return undefined;
  }
  const children: Children = [];
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key)) {
      report(
        'forbidden-key',
        [...path, key],
        `The key '${key}' is not allowed: it could reach an object prototype`,
      );
      continue;
    }
    // Reading a getter would run caller code, and could answer differently to this walk and to zod.
    const descriptor = Object.getOwnPropertyDescriptor(value, key);
    if (descriptor === undefined || !('value' in descriptor)) {
      report('not-json', [...path, key], 'Expected a data property, not a getter');
      continue;
    }
    children.push([key, descriptor.value]);
  }
  return children;
}

function forbiddenMessage(key: string): string {
  return `The key '${key}' is not allowed: it could reach an object prototype`;
}

function fail(code: string, path: IssuePath, message: string): Inspection {
  return { ok: false, problems: [{ code, path, message }] };
}

/**
 * Every zod issue as a definition problem, keeping zod's code and path. An unknown key becomes a problem at
 * that key; a union whose input matched one option's type reports that option's issues instead of a bare
 * "Invalid input".
 */
export function zodProblems(issues: readonly z.core.$ZodIssue[], base: IssuePath = []): DefinitionProblem[] {
  const problems: DefinitionProblem[] = [];
  for (const issue of issues) {
    const path = [...base, ...issue.path.map((key) => (typeof key === 'symbol' ? String(key) : key))];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys)
        problems.push({ code: issue.code, path: [...path, key], message: `Unknown key '${key}'` });
    } else if (issue.code === 'invalid_key') {
      problems.push({
        code: issue.code,
        path,
        message: `Invalid key: ${issue.issues[0]?.message ?? issue.message}`,
      });
    } else if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      // Options failing at their root had the wrong type altogether; if exactly one got further, it was meant.
      const closer = issue.errors.filter((option) => !option.some(isTypeMismatch));
      const meant = closer.length === 1 ? closer[0] : undefined;
      if (meant !== undefined) problems.push(...zodProblems(meant, path));
      else problems.push({ code: issue.code, path, message: issue.message });
    } else {
      problems.push({ code: issue.code, path, message: issue.message });
    }
  }
  return problems;
}

function isTypeMismatch(issue: z.core.$ZodIssue): boolean {
  return issue.path.length === 0 && (issue.code === 'invalid_type' || issue.code === 'invalid_value');
}

/** At most `max` problems, the last one saying how many more there were. */
export function capProblems(problems: DefinitionProblem[], max = MAX_PROBLEMS): DefinitionProblem[] {
  if (problems.length <= max) return problems;
  return [
    ...problems.slice(0, max),
    { code: 'too-many-problems', path: [], message: `And ${problems.length - max} more problems` },
  ];
}

/** The workflow id to name in an error, when the untrusted value has a usable one. */
export function workflowIdOf(value: unknown): string {
  if (typeof value !== 'object' || value === null) return '(json)';
  const descriptor = Object.getOwnPropertyDescriptor(value, 'id');
  const id: unknown = descriptor?.value;
  return typeof id === 'string' && NAME_PATTERN.test(id) ? id : '(json)';
}
