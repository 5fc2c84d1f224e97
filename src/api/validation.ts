// Shared validation helpers with upstream's messages (apimachinery's
// util/validation and the core validators). Each `is*` returns a list of
// messages ([] when valid); `validate*` returns FieldErrors at a path.
import { field, type FieldError } from './errors.js';
import type { NameValidation } from './kind.js';

export type Errs = FieldError[];

// ---------------------------------------------------------------- DNS names

const dns1123LabelFmt = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const dns1123SubdomainFmt = `${dns1123LabelFmt}(\\.${dns1123LabelFmt})*`;
const dns1035LabelFmt = '[a-z]([-a-z0-9]*[a-z0-9])?';
const dns1123LabelRe = new RegExp(`^${dns1123LabelFmt}$`);
const dns1123SubdomainRe = new RegExp(`^${dns1123SubdomainFmt}$`);
const dns1035LabelRe = new RegExp(`^${dns1035LabelFmt}$`);

export const DNS1123LabelMaxLength = 63;
export const DNS1123SubdomainMaxLength = 253;

function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${fmt}')`;
  return `${msg} (e.g. ${examples.map((e) => `'${e}'`).join(',  or ')}, regex used for validation is '${fmt}')`;
}

export function maxLenError(n: number): string {
  return `must be no more than ${n} characters`;
}

export function isDNS1123Label(v: string): string[] {
  const errs: string[] = [];
  if (v.length > DNS1123LabelMaxLength) errs.push(maxLenError(DNS1123LabelMaxLength));
  if (!dns1123LabelRe.test(v)) {
    errs.push(regexError("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character", dns1123LabelFmt, 'my-name', '123-abc'));
  }
  return errs;
}

export function isDNS1123Subdomain(v: string): string[] {
  const errs: string[] = [];
  if (v.length > DNS1123SubdomainMaxLength) errs.push(maxLenError(DNS1123SubdomainMaxLength));
  if (!dns1123SubdomainRe.test(v)) {
    errs.push(regexError("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character", dns1123SubdomainFmt, 'example.com'));
  }
  return errs;
}

export function isDNS1035Label(v: string): string[] {
  const errs: string[] = [];
  if (v.length > DNS1123LabelMaxLength) errs.push(maxLenError(DNS1123LabelMaxLength));
  if (!dns1035LabelRe.test(v)) {
    errs.push(regexError("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character", dns1035LabelFmt, 'my-name', 'abc-123'));
  }
  return errs;
}

/** Wildcard DNS names such as `*.example.com` (ingress hosts). */
export function isWildcardDNS1123Subdomain(v: string): string[] {
  const fmt = `\\*\\.${dns1123SubdomainFmt}`;
  const errs: string[] = [];
  if (v.length > DNS1123SubdomainMaxLength) errs.push(maxLenError(DNS1123SubdomainMaxLength));
  if (!new RegExp(`^${fmt}$`).test(v)) {
    errs.push(regexError("a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character", fmt, '*.example.com'));
  }
  return errs;
}

/** Names used as a single path segment (RBAC objects). */
export function isValidPathSegmentName(v: string): string[] {
  if (v === '.' || v === '..') return [`may not be '${v}'`];
  const errs: string[] = [];
  for (const ch of ['/', '%']) if (v.includes(ch)) errs.push(`may not contain '${ch}'`);
  return errs;
}

/** Checks a metadata.name the way the apiserver does for a kind. */
export function validateName(name: string, kind: NameValidation): string[] {
  switch (kind) {
    case 'label': return isDNS1123Label(name);
    case 'path': return isValidPathSegmentName(name);
    default: return isDNS1123Subdomain(name);
  }
}

/** FieldErrors for a name-like value at `path` (one Invalid per message, joined as upstream does). */
export function nameErrors(path: string, value: string, msgs: string[]): Errs {
  return msgs.length ? [field.invalid(path, value, msgs.join('; '))] : [];
}

// ------------------------------------------------------- qualified names, labels

const qnameCharFmt = '[A-Za-z0-9]';
const qnameExtCharFmt = '[-A-Za-z0-9_.]';
const qualifiedNameFmt = `(${qnameCharFmt}${qnameExtCharFmt}*)?${qnameCharFmt}`;
const qualifiedNameRe = new RegExp(`^${qualifiedNameFmt}$`);
const qualifiedNameMaxLength = 63;
const qualifiedNameErrMsg = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

export function isQualifiedName(v: string): string[] {
  const errs: string[] = [];
  const parts = v.split('/');
  let name: string;
  if (parts.length === 1) name = parts[0];
  else if (parts.length === 2) {
    const [prefix, n] = parts;
    name = n;
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else for (const m of isDNS1123Subdomain(prefix)) errs.push('prefix part ' + m);
  } else {
    return [regexError('a qualified name ' + qualifiedNameErrMsg, qualifiedNameFmt, 'MyName', 'my.name', '123-abc') + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (name.length > qualifiedNameMaxLength) errs.push('name part ' + maxLenError(qualifiedNameMaxLength));
  if (!qualifiedNameRe.test(name)) errs.push('name part ' + regexError(qualifiedNameErrMsg, qualifiedNameFmt, 'MyName', 'my.name', '123-abc'));
  return errs;
}

const labelValueFmt = `(${qualifiedNameFmt})?`;
const labelValueRe = new RegExp(`^${labelValueFmt}$`);

export function isValidLabelValue(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push(maxLenError(63));
  if (!labelValueRe.test(v)) {
    errs.push(regexError("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character", labelValueFmt, 'MyValue', 'my_value', '12345'));
  }
  return errs;
}

export function validateLabels(labels: unknown, path: string): Errs {
  const errs: Errs = [];
  if (labels == null) return errs;
  if (typeof labels !== 'object') return [field.invalid(path, labels, 'must be a map of strings')];
  for (const [k, v] of Object.entries(labels as Record<string, unknown>)) {
    for (const m of isQualifiedName(k)) errs.push(field.invalid(path, k, m));
    if (typeof v !== 'string') errs.push(field.invalid(`${path}[${k}]`, v, 'must be a string'));
    else for (const m of isValidLabelValue(v)) errs.push(field.invalid(path, v, m));
  }
  return errs;
}

export const totalAnnotationSizeLimitB = 256 * 1024;

export function validateAnnotations(annotations: unknown, path: string): Errs {
  const errs: Errs = [];
  if (annotations == null) return errs;
  if (typeof annotations !== 'object') return [field.invalid(path, annotations, 'must be a map of strings')];
  let size = 0;
  for (const [k, v] of Object.entries(annotations as Record<string, unknown>)) {
    for (const m of isQualifiedName(k.toLowerCase())) errs.push(field.invalid(path, k, m));
    size += k.length + (typeof v === 'string' ? Buffer.byteLength(v) : 0);
  }
  if (size > totalAnnotationSizeLimitB) errs.push(field.tooLong(path, totalAnnotationSizeLimitB));
  return errs;
}

/** Labels and annotations of an ObjectMeta (names are checked by the apiserver). */
export function validateObjectMeta(meta: any, path = 'metadata'): Errs {
  if (!meta) return [];
  return [...validateLabels(meta.labels, `${path}.labels`), ...validateAnnotations(meta.annotations, `${path}.annotations`)];
}

// ------------------------------------------------------------- misc formats

/** IANA service names (port names). */
export function isValidPortName(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 15) errs.push(maxLenError(15));
  if (!/^[-a-z0-9]+$/.test(v)) errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (v.includes('--')) errs.push('must not contain consecutive hyphens');
  if (!/[a-z]/.test(v)) errs.push('must contain at least one letter (a-z)');
  if (v.startsWith('-') || v.endsWith('-')) errs.push('must not begin or end with a hyphen');
  return errs;
}

export function isValidPortNum(p: unknown): string[] {
  return typeof p === 'number' && Number.isInteger(p) && p >= 1 && p <= 65535 ? [] : ['must be between 1 and 65535, inclusive'];
}

const configKeyFmt = '[-._a-zA-Z0-9]+';
export function isConfigMapKey(v: string): string[] {
  const errs: string[] = [];
  if (v.length > DNS1123SubdomainMaxLength) errs.push(maxLenError(DNS1123SubdomainMaxLength));
  if (!/^[-._a-zA-Z0-9]+$/.test(v)) errs.push(regexError("a valid config key must consist of alphanumeric characters, '-', '_' or '.'", configKeyFmt, 'key.name', 'KEY_NAME', 'key-name'));
  if (v === '.') errs.push("must not be '.'");
  else if (v === '..') errs.push("must not be '..'");
  else if (v.startsWith('..')) errs.push("must not start with '..'");
  return errs;
}

export function isEnvVarName(v: string): string[] {
  // RelaxedEnvironmentVariableValidation (on by default since 1.32)
  if (v.length > 0 && /^[\x20-\x3c\x3e-\x7e]+$/.test(v)) return [];
  return ["a valid environment variable name must consist only of printable ASCII characters other than '='"];
}

export function isValidIP(v: string): boolean {
  const v4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
  if (v4.test(v)) return true;
  if (!v.includes(':') || !/^[0-9a-fA-F:.]+$/.test(v)) return false;
  const dbl = v.split('::');
  if (dbl.length > 2) return false;
  const groups = v.split(':').filter((g) => g !== '');
  return groups.length <= 8 && groups.every((g) => g.length <= 4 || v4.test(g));
}

export function isValidCIDR(v: string): boolean {
  const m = /^(.+)\/(\d{1,3})$/.exec(v);
  if (!m || !isValidIP(m[1])) return false;
  const bits = Number(m[2]);
  return bits <= (m[1].includes(':') ? 128 : 32);
}

// ---------------------------------------------------------------- numbers

export function validateNonnegative(value: unknown, path: string): Errs {
  if (value == null) return [];
  if (typeof value !== 'number' || !Number.isFinite(value)) return [field.invalid(path, value, 'must be an integer')];
  return value < 0 ? [field.invalid(path, value, 'must be greater than or equal to 0')] : [];
}

export function validatePositive(value: unknown, path: string): Errs {
  if (value == null) return [];
  if (typeof value !== 'number' || !Number.isFinite(value)) return [field.invalid(path, value, 'must be an integer')];
  return value <= 0 ? [field.invalid(path, value, 'must be greater than 0')] : [];
}

/** An IntOrString that must be a non-negative number or a percentage like "25%". */
export function validatePositiveIntOrPercent(value: unknown, path: string): Errs {
  if (value == null) return [];
  if (typeof value === 'string') {
    if (!/^[0-9]+%$/.test(value)) {
      return [field.invalid(path, value, regexError("a valid percent string must be a numeric string followed by an ending '%'", '[0-9]+%', '1%', '93%'))];
    }
    return [];
  }
  return validateNonnegative(value, path);
}

/** Percent values must not exceed 100%. */
export function isNotMoreThan100Percent(value: unknown, path: string): Errs {
  if (typeof value === 'string' && /^[0-9]+%$/.test(value) && parseInt(value, 10) > 100) {
    return [field.invalid(path, value, 'must not be greater than 100%')];
  }
  return [];
}

export function intOrPercentIsZero(value: unknown): boolean {
  if (value == null) return true;
  if (typeof value === 'string') return /^0+%$/.test(value);
  return value === 0;
}

// -------------------------------------------------------------- quantities

export const quantityRegex = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/;
const suffixes: Record<string, number> = {
  '': 1, n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** Numeric value of a resource quantity ("100m" → 0.1, "1Gi" → 1073741824), or undefined when malformed. */
export function parseQuantity(q: unknown): number | undefined {
  if (typeof q === 'number') return Number.isFinite(q) ? q : undefined;
  if (typeof q !== 'string') return undefined;
  const s = q.trim();
  const m = quantityRegex.exec(s);
  if (!m) return undefined;
  const num = Number(m[1]);
  if (!Number.isFinite(num) || (m[1].match(/\./g)?.length ?? 0) > 1) return undefined;
  const suf = m[2];
  if (suf in suffixes) return num * suffixes[suf];
  const exp = /^[eE]([-+]?[0-9]+)$/.exec(suf);
  if (exp) return num * 10 ** Number(exp[1]);
  return undefined;
}

export function isQuantity(q: unknown): boolean {
  return parseQuantity(q) !== undefined;
}

/** A resource list (requests, limits, capacity, hard): each value a non-negative quantity. */
export function validateResourceList(list: unknown, path: string): Errs {
  const errs: Errs = [];
  if (list == null) return errs;
  if (typeof list !== 'object') return [field.invalid(path, list, 'must be a map of quantities')];
  for (const [k, v] of Object.entries(list as Record<string, unknown>)) {
    for (const m of isQualifiedName(k)) errs.push(field.invalid(`${path}[${k}]`, k, m));
    const n = parseQuantity(v);
    if (n === undefined) errs.push(field.invalid(`${path}[${k}]`, v, `quantities must match the regular expression '${quantityRegex.source}'`));
    else if (n < 0) errs.push(field.invalid(`${path}[${k}]`, v, 'must be greater than or equal to 0'));
  }
  return errs;
}

// ------------------------------------------------------------ label selectors

export function selectorIsEmpty(sel: any): boolean {
  return !sel || (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0);
}

// ------------------------------------------------------------------ helpers

export function enumError(path: string, value: unknown, valid: string[], required = false): Errs {
  if (value == null || value === '') return required ? [field.required(path)] : [];
  return valid.includes(value as string) ? [] : [field.notSupported(path, value, valid)];
}

export function notFound(path: string, value: unknown): FieldError {
  return { type: 'FieldValueNotFound', field: path, message: `Not found: ${JSON.stringify(value)}` };
}

/** Required value with a detail, rendered as upstream does ("Required value: <detail>"). */
export function requiredWith(path: string, detail: string): FieldError {
  return field.required(path, `Required value: ${detail}`);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a == null || b == null) return isEmptyish(a) && isEmptyish(b);
  if (typeof a !== typeof b) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => deepEqual(x, b[i]));
  }
  if (typeof a === 'object') {
    const ao = a as Record<string, unknown>, bo = b as Record<string, unknown>;
    const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
    for (const k of keys) if (!deepEqual(ao[k], bo[k])) return false;
    return true;
  }
  return false;
}

// Semantic equality treats a missing field like an empty one (Go's zero values).
function isEmptyish(v: unknown): boolean {
  if (v == null) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v as object).length === 0;
  return false;
}

export function immutable(newV: unknown, oldV: unknown, path: string): Errs {
  return deepEqual(newV, oldV) ? [] : [field.invalid(path, newV, 'field is immutable')];
}
