// Field selectors (`fieldSelector=metadata.name=foo,status.phase!=Running`),
// with upstream's grammar: comma-separated terms, operators != == =, values
// escaped with \ (\, \= \\), all terms ANDed. Missing fields read as "".
import { errors } from './errors.js';

export type FieldOperator = '=' | '==' | '!=';

export interface FieldRequirement {
  field: string;
  operator: FieldOperator;
  value: string;
}

/** Splits on commas not escaped by a backslash (escapes are kept for the value parser). */
function splitTerms(selector: string): string[] {
  if (selector.length === 0) return [];
  const terms: string[] = [];
  let start = 0;
  let inSlash = false;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (inSlash) inSlash = false;
    else if (c === '\\') inSlash = true;
    else if (c === ',') {
      terms.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(selector.slice(start));
  return terms;
}

const termOperators: FieldOperator[] = ['!=', '==', '='];

/** The first operator occurrence splits a term; the field name has no escaping. */
function splitTerm(term: string): [string, FieldOperator, string] | undefined {
  for (let i = 0; i < term.length; i++) {
    for (const op of termOperators) {
      if (term.startsWith(op, i)) return [term.slice(0, i), op, term.slice(i + op.length)];
    }
  }
  return undefined;
}

/** Undoes EscapeValue; throws upstream's messages for bad escapes or bare , and =. */
export function unescapeValue(s: string): string {
  if (!/[\\,=]/.test(s)) return s;
  let out = '';
  let inSlash = false;
  for (const c of s) {
    if (inSlash) {
      if (c === '\\' || c === ',' || c === '=') out += c;
      else throw new Error(`invalid field selector: invalid escape sequence: \\${c}`);
      inSlash = false;
      continue;
    }
    if (c === '\\') inSlash = true;
    // Go prints the rune with %v, i.e. as its code point.
    else if (c === ',' || c === '=') throw new Error(`invalid field selector: unescaped character in value: ${c.codePointAt(0)}`);
    else out += c;
  }
  if (inSlash) throw new Error('invalid field selector: invalid escape sequence: \\');
  return out;
}

/** Escapes a literal value for use in a field selector. */
export function escapeValue(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/,/g, '\\,').replace(/=/g, '\\=');
}

/** Parses a field selector; errors are plain Errors with upstream's text. */
export function parseFieldRequirements(selector: string): FieldRequirement[] {
  const parts = splitTerms(selector).sort();
  const out: FieldRequirement[] = [];
  for (const part of parts) {
    if (part === '') continue;
    const t = splitTerm(part);
    if (!t) throw new Error(`invalid selector: '${selector}'; can't understand '${part}'`);
    out.push({ field: t[0], operator: t[1], value: unescapeValue(t[2]) });
  }
  return out;
}

/** Parses a `fieldSelector` query value; invalid syntax is a 400 BadRequest. */
export function parseFieldSelector(selector: string | undefined | null): FieldRequirement[] {
  if (!selector) return [];
  try {
    return parseFieldRequirements(selector);
  } catch (e) {
    throw errors.badRequest((e as Error).message);
  }
}

/** True when every requirement holds; `getter` returns undefined for absent fields (read as ""). */
export function matchFields(reqs: readonly FieldRequirement[], getter: (field: string) => string | undefined): boolean {
  for (const r of reqs) {
    const v = getter(r.field) ?? '';
    if (r.operator === '!=' ? v === r.value : v !== r.value) return false;
  }
  return true;
}

/** Field names a selector uses, in order, without repeats. */
export function fieldSelectorFields(reqs: readonly FieldRequirement[]): string[] {
  return [...new Set(reqs.map((r) => r.field))];
}

/** The value a selector requires for `field` with = or ==, if any (e.g. spec.nodeName for a kubelet). */
export function requiresExactMatch(reqs: readonly FieldRequirement[], field: string): string | undefined {
  for (const r of reqs) if (r.field === field && r.operator !== '!=') return r.value;
  return undefined;
}

/** Canonical text (== shown as =, values escaped), like upstream's Selector.String(). */
export function fieldSelectorToString(reqs: readonly FieldRequirement[]): string {
  return reqs.map((r) => `${r.field}${r.operator === '!=' ? '!=' : '='}${escapeValue(r.value)}`).join(',');
}

/** Upstream's message for a field a kind with its own selectable fields does not support. */
export function fieldLabelNotSupported(field: string): string {
  return `field label not supported: ${field}`;
}

/** Upstream's message for kinds that only allow the default metadata fields. */
export function unknownDefaultField(field: string): string {
  return `"${field}" is not a known field selector: only "metadata.name", "metadata.namespace"`;
}

export const defaultSelectableFields = ['metadata.name', 'metadata.namespace'];

/**
 * Rejects fields a kind cannot select on, with the 400 upstream returns.
 * `supported` lists the kind's selectable fields; with `customFields` false
 * (a kind that registered no field conversion) the default message is used.
 */
export function checkSelectableFields(reqs: readonly FieldRequirement[], supported: readonly string[] = defaultSelectableFields, customFields = true): void {
  for (const r of reqs) {
    if (!supported.includes(r.field)) {
      throw errors.badRequest(customFields ? fieldLabelNotSupported(r.field) : unknownDefaultField(r.field));
    }
  }
}
