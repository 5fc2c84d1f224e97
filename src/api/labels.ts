// Label selectors (the `-l` / labelSelector syntax and metav1.LabelSelector)
// and label key/value validation, with upstream's grammar and messages.
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import { errors, field, type FieldError } from './errors.js';

export type Operator = 'in' | 'notin' | '=' | '==' | '!=' | 'exists' | '!' | 'gt' | 'lt';

export interface Requirement {
  key: string;
  operator: Operator;
  values: string[];
}

export type Labels = Record<string, string> | undefined | null;

export interface Selector {
  /** sorted by key, like upstream */
  readonly requirements: readonly Requirement[];
  /** true for a selector that matches everything */
  readonly empty: boolean;
  /** true for the selector that matches nothing (a nil metav1.LabelSelector) */
  readonly nothing: boolean;
  matches(labels: Labels): boolean;
  toString(): string;
}

const binaryOperators = ['in', 'notin', '=', '==', '!=', 'gt', 'lt'];

// ---- validation (k8s.io/apimachinery/pkg/util/validation) --------------------

// label keys and values are checked by ./validation.js (one implementation of upstream's rules)
export { isDNS1123Label, isDNS1123Subdomain, isQualifiedName, isValidLabelValue, maxLenError, validateAnnotations, validateLabels } from './validation.js';
import { isQualifiedName, isValidLabelValue, validateLabels } from './validation.js';


/** Errors for a metav1.LabelSelector, as upstream's ValidateLabelSelector. */
export function validateLabelSelector(ls: LabelSelector | undefined | null, path: string): FieldError[] {
  const out: FieldError[] = [];
  if (!ls) return out;
  out.push(...validateLabels(ls.matchLabels, `${path}.matchLabels`));
  (ls.matchExpressions ?? []).forEach((expr, i) => {
    const p = `${path}.matchExpressions[${i}]`;
    const values = expr.values ?? [];
    switch (expr.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) out.push(field.required(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) out.push(field.forbidden(`${p}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
        break;
      default:
        out.push(field.invalid(`${p}.operator`, expr.operator, 'not a valid selector operator'));
    }
    for (const m of isQualifiedName(expr.key ?? '')) out.push(field.invalid(`${p}.key`, expr.key ?? '', m));
    values.forEach((v, j) => {
      for (const m of isValidLabelValue(v)) out.push(field.invalid(`${p}.values[${j}]`, v, m));
    });
  });
  return out;
}

// ---- requirements and selectors ----------------------------------------------

/** Go's %q for messages (close enough for label text). */
function q(s: unknown): string {
  return JSON.stringify(s);
}

/** Go's %#v of a []string, used in field.Invalid messages about value sets. */
function goStrings(vals: string[]): string {
  return `[]string{${vals.map((v) => q(v)).join(', ')}}`;
}

/** A child of a field path; children of the nil path have no prefix (as upstream's field.Path). */
function child(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

/**
 * Builds a requirement and the error texts upstream's NewRequirement would give
 * (paths relative to `path`, which is empty when the caller gives none).
 */
export function newRequirement(key: string, operator: Operator, values: string[], path = ''): { requirement: Requirement; errors: string[] } {
  const errs: string[] = [];
  const valuesPath = child(path, 'values');
  const keyErrs = isQualifiedName(key);
  if (keyErrs.length) errs.push(`${child(path, 'key')}: Invalid value: ${q(key)}: ${keyErrs.join('; ')}`);
  switch (operator) {
    case 'in':
    case 'notin':
      if (values.length === 0) errs.push(`${valuesPath}: Invalid value: ${goStrings(values)}: for 'in', 'notin' operators, values set can't be empty`);
      break;
    case '=':
    case '==':
    case '!=':
      if (values.length !== 1) errs.push(`${valuesPath}: Invalid value: ${goStrings(values)}: exact-match compatibility requires one single value`);
      break;
    case 'exists':
    case '!':
      if (values.length !== 0) errs.push(`${valuesPath}: Invalid value: ${goStrings(values)}: values set must be empty for exists and does not exist`);
      break;
    case 'gt':
    case 'lt':
      if (values.length !== 1) errs.push(`${valuesPath}: Invalid value: ${goStrings(values)}: for 'Gt', 'Lt' operators, exactly one value is required`);
      values.forEach((v, i) => {
        if (!/^[+-]?[0-9]+$/.test(v)) errs.push(`${valuesPath}[${i}]: Invalid value: ${q(v)}: for 'Gt', 'Lt' operators, the value must be an integer`);
      });
      break;
    default:
      errs.push(`${child(path, 'operator')}: Unsupported value: ${q(operator)}: supported values: ${[...binaryOperators, 'exists', '!'].map(q).join(', ')}`);
  }
  values.forEach((v, i) => {
    const m = isValidLabelValue(v);
    if (m.length) errs.push(`${valuesPath}[${i}][${key}]: Invalid value: ${q(v)}: ${m.join('; ')}`);
  });
  return { requirement: { key, operator, values: [...values] }, errors: [...new Set(errs)] };
}

/** Upstream's aggregate error text: one message alone, several in brackets. */
function aggregate(errs: string[]): string {
  return errs.length === 1 ? errs[0] : `[${errs.join(', ')}]`;
}

export function requirementMatches(r: Requirement, labels: Labels): boolean {
  const has = !!labels && Object.prototype.hasOwnProperty.call(labels, r.key);
  const val = has ? labels![r.key] : undefined;
  switch (r.operator) {
    case 'in':
    case '=':
    case '==':
      return has && r.values.includes(val!);
    case 'notin':
    case '!=':
      return !has || !r.values.includes(val!);
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'gt':
    case 'lt': {
      if (!has || !/^[+-]?[0-9]+$/.test(val!) || r.values.length !== 1 || !/^[+-]?[0-9]+$/.test(r.values[0])) return false;
      const a = BigInt(val!);
      const b = BigInt(r.values[0]);
      return r.operator === 'gt' ? a > b : a < b;
    }
    default:
      return false;
  }
}

export function requirementToString(r: Requirement): string {
  let s = r.operator === '!' ? '!' : '';
  s += r.key;
  switch (r.operator) {
    case 'exists':
    case '!':
      return s;
    case 'in':
    case 'notin':
      s += ` ${r.operator} (`;
      break;
    case 'gt':
      s += '>';
      break;
    case 'lt':
      s += '<';
      break;
    default:
      s += r.operator;
  }
  s += r.values.length === 1 ? r.values[0] : [...r.values].sort().join(',');
  if (r.operator === 'in' || r.operator === 'notin') s += ')';
  return s;
}

class InternalSelector implements Selector {
  readonly requirements: readonly Requirement[];
  readonly nothing = false;
  constructor(reqs: Requirement[]) {
    // Stable sort by key, for deterministic strings.
    this.requirements = [...reqs].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
  get empty(): boolean {
    return this.requirements.length === 0;
  }
  matches(labels: Labels): boolean {
    for (const r of this.requirements) if (!requirementMatches(r, labels)) return false;
    return true;
  }
  toString(): string {
    return this.requirements.map(requirementToString).join(',');
  }
}

const nothingSelector: Selector = {
  requirements: [],
  empty: false,
  nothing: true,
  matches: () => false,
  toString: () => '',
};

export function everything(): Selector {
  return new InternalSelector([]);
}

export function nothing(): Selector {
  return nothingSelector;
}

export function selectorFromRequirements(reqs: Requirement[]): Selector {
  return new InternalSelector(reqs);
}

/** Exact-match selector for a label set (no validation), like SelectorFromSet. */
export function selectorFromSet(labels: Record<string, string> | undefined | null): Selector {
  return new InternalSelector(Object.entries(labels ?? {}).map(([key, v]) => ({ key, operator: '=', values: [v] })));
}

// ---- the string syntax --------------------------------------------------------

type Tok = 'err' | 'eos' | ')' | ',' | '!' | '==' | '=' | '>' | 'id' | 'in' | '<' | '!=' | 'notin' | '(';
interface Item { tok: Tok; lit: string }

const literalTokens: Record<string, Tok> = { ')': ')', ',': ',', '!': '!', '==': '==', '=': '=', '>': '>', in: 'in', '<': '<', '!=': '!=', notin: 'notin', '(': '(' };
const isWhitespace = (c: string) => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isSpecial = (c: string) => '=!(),><'.includes(c);

function lex(s: string): Item[] {
  const items: Item[] = [];
  let pos = 0;
  for (let guard = 0; guard <= s.length + 1; guard++) {
    while (pos < s.length && isWhitespace(s[pos])) pos++;
    if (pos >= s.length) {
      items.push({ tok: 'eos', lit: '' });
      return items;
    }
    if (isSpecial(s[pos])) {
      // Longest run of special characters that still forms a known operator.
      let buf = '';
      let last: Item | undefined;
      while (pos < s.length && isSpecial(s[pos])) {
        buf += s[pos];
        const t = literalTokens[buf];
        if (t) {
          last = { tok: t, lit: buf };
          pos++;
        } else if (last) {
          break;
        } else {
          pos++;
        }
      }
      items.push(last ?? { tok: 'err', lit: `error expected: keyword found '${buf}'` });
    } else {
      let buf = '';
      while (pos < s.length && !isSpecial(s[pos]) && !isWhitespace(s[pos])) buf += s[pos++];
      const t = literalTokens[buf];
      items.push({ tok: t ?? 'id', lit: buf });
    }
  }
  items.push({ tok: 'eos', lit: '' });
  return items;
}

class Parser {
  private pos = 0;
  constructor(private readonly items: Item[]) {}

  /** In a values context, `in` and `notin` are plain identifiers. */
  private look(values: boolean): Item {
    const it = this.items[Math.min(this.pos, this.items.length - 1)];
    if (values && (it.tok === 'in' || it.tok === 'notin')) return { tok: 'id', lit: it.lit };
    return it;
  }
  private next(values: boolean): Item {
    const it = this.look(values);
    this.pos++;
    return it;
  }

  parse(): Requirement[] {
    const reqs: Requirement[] = [];
    for (let guard = 0; guard < this.items.length + 1; guard++) {
      const { tok, lit } = this.look(true);
      if (tok === 'id' || tok === '!') {
        let r: Requirement;
        try {
          r = this.requirement();
        } catch (e) {
          throw new Error(`unable to parse requirement: ${(e as Error).message}`);
        }
        reqs.push(r);
        const t = this.next(true);
        if (t.tok === 'eos') return reqs;
        if (t.tok === ',') {
          const t2 = this.look(true);
          if (t2.tok !== 'id' && t2.tok !== '!') throw new Error(`found '${t2.lit}', expected: identifier after ','`);
        } else {
          throw new Error(`found '${t.lit}', expected: ',' or 'end of string'`);
        }
      } else if (tok === 'eos') {
        return reqs;
      } else {
        throw new Error(`found '${lit}', expected: !, identifier, or 'end of string'`);
      }
    }
    return reqs;
  }

  private requirement(): Requirement {
    let op: Operator | undefined;
    let t = this.next(true);
    if (t.tok === '!') {
      op = '!';
      t = this.next(true);
    }
    if (t.tok !== 'id') throw new Error(`found '${t.lit}', expected: identifier`);
    const key = t.lit;
    const keyErrs = isQualifiedName(key);
    if (keyErrs.length) throw new Error(`<nil>: Invalid value: ${q(key)}: ${keyErrs.join('; ')}`);
    const after = this.look(true).tok;
    if (after === 'eos' || after === ',') op = op ?? 'exists';
    if (op === 'exists' || op === '!') return this.build(key, op, []);

    const o = this.next(false);
    let operator: Operator;
    switch (o.tok) {
      case 'in': operator = 'in'; break;
      case 'notin': operator = 'notin'; break;
      case '=': operator = '='; break;
      case '==': operator = '=='; break;
      case '!=': operator = '!='; break;
      case '>': operator = 'gt'; break;
      case '<': operator = 'lt'; break;
      default: throw new Error(`found '${o.lit}', expected: ${binaryOperators.join(', ')}`);
    }
    const values = operator === 'in' || operator === 'notin' ? this.setValues() : this.exactValue();
    return this.build(key, operator, values);
  }

  private build(key: string, op: Operator, values: string[]): Requirement {
    const { requirement, errors: errs } = newRequirement(key, op, values);
    if (errs.length) throw new Error(aggregate(errs));
    return requirement;
  }

  private setValues(): string[] {
    const t = this.next(true);
    if (t.tok !== '(') throw new Error(`found '${t.lit}' expected: '('`);
    const { tok, lit } = this.look(true);
    if (tok === 'id' || tok === ',') {
      const s = this.identifiersList();
      if (this.next(true).tok !== ')') throw new Error(`found '${lit}', expected: ')'`);
      return s;
    }
    if (tok === ')') {
      this.next(true);
      return [''];
    }
    throw new Error(`found '${lit}', expected: ',', ')' or identifier`);
  }

  /** Comma-separated, possibly empty identifiers; returned sorted and unique (a string set). */
  private identifiersList(): string[] {
    const s = new Set<string>();
    for (let guard = 0; guard < this.items.length + 1; guard++) {
      const t = this.next(true);
      if (t.tok === 'id') {
        s.add(t.lit);
        const t2 = this.look(true);
        if (t2.tok === ',') continue;
        if (t2.tok === ')') return [...s].sort();
        throw new Error(`found '${t2.lit}', expected: ',' or ')'`);
      } else if (t.tok === ',') {
        if (s.size === 0) s.add('');
        const t2 = this.look(true).tok;
        if (t2 === ')') {
          s.add('');
          return [...s].sort();
        }
        if (t2 === ',') s.add('');
      } else {
        throw new Error(`found '${t.lit}', expected: ',', or identifier`);
      }
    }
    return [...s].sort();
  }

  private exactValue(): string[] {
    const t = this.look(true);
    if (t.tok === 'eos' || t.tok === ',') return [''];
    const v = this.next(true);
    if (v.tok === 'id') return [v.lit];
    throw new Error(`found '${v.lit}', expected: identifier`);
  }
}

/** Parses selector text; throws a plain Error with upstream's message. */
export function parseRequirements(selector: string): Requirement[] {
  return new Parser(lex(selector)).parse();
}

/**
 * Parses a `labelSelector` query value. Invalid syntax is a 400 BadRequest
 * carrying upstream's message (e.g. "unable to parse requirement: found '', expected: identifier").
 */
export function parseSelector(selector: string | undefined | null): Selector {
  if (!selector) return everything();
  try {
    return new InternalSelector(parseRequirements(selector));
  } catch (e) {
    throw errors.badRequest((e as Error).message);
  }
}

/**
 * metav1.LabelSelector to Selector, as LabelSelectorAsSelector: undefined/null
 * matches nothing, an empty selector everything. Invalid content is a 400.
 */
export function selectorFromLabelSelector(ls: LabelSelector | undefined | null): Selector {
  if (!ls) return nothing();
  const matchLabels = ls.matchLabels ?? {};
  const exprs = ls.matchExpressions ?? [];
  if (Object.keys(matchLabels).length + exprs.length === 0) return everything();
  const reqs: Requirement[] = [];
  const check = (key: string, op: Operator, values: string[]) => {
    const { requirement, errors: errs } = newRequirement(key, op, values);
    if (errs.length) throw errors.badRequest(aggregate(errs));
    reqs.push(requirement);
  };
  for (const [k, v] of Object.entries(matchLabels)) check(k, '=', [v]);
  for (const e of exprs) {
    const ops: Record<string, Operator> = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' };
    const op = ops[e.operator];
    if (!op) throw errors.badRequest(`${q(e.operator)} is not a valid label selector operator`);
    check(e.key, op, [...(e.values ?? [])]);
  }
  return new InternalSelector(reqs);
}

/** Matches labels against a metav1.LabelSelector (nil matches nothing; invalid matches nothing). */
export function matchesLabelSelector(ls: LabelSelector | undefined | null, labels: Labels): boolean {
  try {
    return selectorFromLabelSelector(ls).matches(labels);
  } catch {
    return false;
  }
}

/** Text of a metav1.LabelSelector as kubectl shows it (FormatLabelSelector): "<none>" when empty. */
export function labelSelectorToString(ls: LabelSelector | undefined | null): string {
  let s: string;
  try {
    s = selectorFromLabelSelector(ls).toString();
  } catch {
    return '<error>';
  }
  return s.length === 0 ? '<none>' : s;
}
