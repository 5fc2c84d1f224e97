// Kubernetes resource.Quantity: parsing, canonical formatting, arithmetic.
// A quantity is kept exactly as value × 10^scale (bigint mantissa), rounded up
// to 1n like upstream, with the format (suffix family) its text was written in.
// Canonical form follows upstream: "1.5" -> "1500m", "2000" -> "2k",
// "1.5Gi" -> "1536Mi", "0.5Ki" -> "512".

export type QuantityFormat = 'DecimalExponent' | 'BinarySI' | 'DecimalSI';

export interface Quantity {
  /** mantissa; the number is value × 10^scale */
  readonly value: bigint;
  readonly scale: number;
  readonly format: QuantityFormat;
}

export const errFormatWrong = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
export const errNumeric = 'unable to parse numeric part of quantity';
export const errSuffix = "unable to parse quantity's suffix";

export class QuantityParseError extends Error {}

const decimalSuffixes: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const binarySuffixes: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const decimalByExp = new Map(Object.entries(decimalSuffixes).map(([s, e]) => [e, s]));
const binaryByExp = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];

const maxInt64 = (1n << 63n) - 1n;
const NANO = -9;

function pow10(n: number): bigint {
  return 10n ** BigInt(n);
}

/** Rounds |value| up (away from zero) so that scale >= -9. */
function roundUpToNano(value: bigint, scale: number): [bigint, number] {
  if (scale >= NANO) return [value, scale];
  const div = pow10(NANO - scale);
  const neg = value < 0n;
  const abs = neg ? -value : value;
  let q = abs / div;
  if (q * div !== abs) q += 1n;
  return [neg ? -q : q, NANO];
}

/** Moves trailing zeros of the mantissa into the scale (canonical comparison form). */
function normalize(value: bigint, scale: number): [bigint, number] {
  if (value === 0n) return [0n, 0];
  let v = value;
  let s = scale;
  while (v % 10n === 0n) {
    v /= 10n;
    s++;
  }
  return [v, s];
}

function make(value: bigint, scale: number, format: QuantityFormat): Quantity {
  const [v, s] = normalize(value, scale);
  return { value: v, scale: s, format };
}

/** Parses upstream's quantity syntax; throws QuantityParseError with upstream's messages. */
export function parseQuantity(input: string | number | Quantity): Quantity {
  if (typeof input === 'object') return input;
  const str = typeof input === 'number' ? numberToString(input) : input.trim();
  if (str.length === 0) throw new QuantityParseError(errFormatWrong);
  const m = /^([+-]?)([0-9]*)(?:\.([0-9]*))?(.*)$/.exec(str)!;
  const [, sign, intPart, fracPart = '', suffix] = m;
  if (intPart.length === 0 && fracPart.length === 0) throw new QuantityParseError(errFormatWrong);
  // The suffix is letters from the suffix alphabet, then an optional signed integer.
  if (!/^[eEinumkKMGTP]*[-+]?[0-9]*$/.test(suffix)) throw new QuantityParseError(errFormatWrong);

  let value = BigInt((intPart || '0') + fracPart);
  let scale = -fracPart.length;
  let format: QuantityFormat;
  if (Object.prototype.hasOwnProperty.call(decimalSuffixes, suffix)) {
    format = 'DecimalSI';
    scale += decimalSuffixes[suffix];
  } else if (Object.prototype.hasOwnProperty.call(binarySuffixes, suffix)) {
    format = 'BinarySI';
    value *= 1n << BigInt(binarySuffixes[suffix]);
  } else if (suffix.length > 1 && (suffix[0] === 'e' || suffix[0] === 'E') && /^[-+]?[0-9]+$/.test(suffix.slice(1))) {
    format = 'DecimalExponent';
    const exp = Number(suffix.slice(1));
    if (!Number.isSafeInteger(exp) || Math.abs(exp) > 1000) throw new QuantityParseError(errNumeric);
    scale += exp;
  } else {
    throw new QuantityParseError(errSuffix);
  }
  if (sign === '-') value = -value;

  [value, scale] = roundUpToNano(value, scale);
  const abs = value < 0n ? -value : value;
  if (format === 'BinarySI') {
    // Upstream caps binary quantities at the largest int64.
    if (compareParts(abs, scale, maxInt64, 0) > 0) {
      value = value < 0n ? -maxInt64 : maxInt64;
      scale = 0;
    }
    // Fractions of one cannot be written with binary suffixes.
    if (value !== 0n && compareParts(abs, scale, 1n, 0) < 0) format = 'DecimalSI';
  }
  return make(value, scale, format);
}

function numberToString(n: number): string {
  if (!Number.isFinite(n)) throw new QuantityParseError(errFormatWrong);
  return String(n).replace('e+', 'e');
}

/** True when `s` parses as a quantity. */
export function isQuantity(s: unknown): boolean {
  if (typeof s !== 'string' && typeof s !== 'number') return false;
  try {
    parseQuantity(s);
    return true;
  } catch {
    return false;
  }
}

function compareParts(av: bigint, as: number, bv: bigint, bs: number): number {
  const s = Math.min(as, bs);
  const a = av * pow10(as - s);
  const b = bv * pow10(bs - s);
  return a < b ? -1 : a > b ? 1 : 0;
}

export function compareQuantities(a: string | number | Quantity, b: string | number | Quantity): -1 | 0 | 1 {
  const x = parseQuantity(a);
  const y = parseQuantity(b);
  return compareParts(x.value, x.scale, y.value, y.scale) as -1 | 0 | 1;
}

export function isZero(q: string | number | Quantity): boolean {
  return parseQuantity(q).value === 0n;
}

/** a + b, in a's format (b's when a is zero), as upstream's Quantity.Add. */
export function addQuantities(a: string | number | Quantity, b: string | number | Quantity): Quantity {
  const x = parseQuantity(a);
  const y = parseQuantity(b);
  const s = Math.min(x.scale, y.scale);
  const v = x.value * pow10(x.scale - s) + y.value * pow10(y.scale - s);
  return make(v, s, x.value === 0n ? y.format : x.format);
}

export function subQuantities(a: string | number | Quantity, b: string | number | Quantity): Quantity {
  const y = parseQuantity(b);
  return addQuantities(a, { ...y, value: -y.value });
}

export function negateQuantity(a: string | number | Quantity): Quantity {
  const x = parseQuantity(a);
  return { ...x, value: -x.value };
}

/** Sum of quantities; the empty sum is 0 in `format`. */
export function sumQuantities(qs: Iterable<string | number | Quantity>, format: QuantityFormat = 'DecimalSI'): Quantity {
  let acc: Quantity = { value: 0n, scale: 0, format };
  for (const q of qs) acc = addQuantities(acc, q);
  return acc;
}

/** The value scaled to 10^scale as an integer, rounded up (away from zero), like ScaledValue. */
export function scaledValue(q: string | number | Quantity, scale: number): bigint {
  const x = parseQuantity(q);
  if (x.scale >= scale) return x.value * pow10(x.scale - scale);
  const div = pow10(scale - x.scale);
  const neg = x.value < 0n;
  const abs = neg ? -x.value : x.value;
  let r = abs / div;
  if (r * div !== abs) r += 1n;
  return neg ? -r : r;
}

/** Milli-units, rounded up (MilliValue): "100m" -> 100, "1" -> 1000, "1Ki" -> 1024000. */
export function toMillis(q: string | number | Quantity): number {
  return Number(scaledValue(q, -3));
}

/** Whole units, rounded up (Value): "1500m" -> 2, "1Gi" -> 1073741824. */
export function toInt(q: string | number | Quantity): number {
  return Number(scaledValue(q, 0));
}

/** Approximate float value (AsApproximateFloat64). */
export function toNumber(q: string | number | Quantity): number {
  const x = parseQuantity(q);
  return Number(`${x.value}e${x.scale}`);
}

export function quantityFromMillis(millis: number | bigint, format: QuantityFormat = 'DecimalSI'): Quantity {
  return make(BigInt(millis), -3, format);
}

export function quantityFromInt(n: number | bigint, format: QuantityFormat = 'DecimalSI'): Quantity {
  return make(BigInt(n), 0, format);
}

/** Canonical text, as upstream's Quantity.String(). */
export function formatQuantity(q: Quantity): string {
  if (q.value === 0n) return '0';
  let format = q.format;
  if (format === 'BinarySI') {
    const abs = q.value < 0n ? -q.value : q.value;
    // Small or fractional binary values are shown in decimal to avoid rounding.
    if (compareParts(abs, q.scale, 1024n, 0) < 0 || q.scale < 0) format = 'DecimalSI';
  }
  if (format === 'BinarySI') {
    let v = q.value * pow10(q.scale);
    let e = 0;
    while (e < 6 && v % 1024n === 0n) {
      v /= 1024n;
      e++;
    }
    return `${v}${binaryByExp[e]}`;
  }
  // Mantissa without trailing zeros, exponent lowered to a multiple of 3.
  let [v, e] = normalize(q.value, q.scale);
  const r = ((e % 3) + 3) % 3;
  if (r !== 0) {
    v *= pow10(r);
    e -= r;
  }
  if (format === 'DecimalExponent') return e === 0 ? `${v}` : `${v}e${e}`;
  if (e > 18) {
    v *= pow10(e - 18);
    e = 18;
  }
  return `${v}${decimalByExp.get(e) ?? ''}`;
}

/** Canonical text of a quantity string ("1000m" -> "1"); throws on invalid input. */
export function canonicalQuantity(s: string | number): string {
  return formatQuantity(parseQuantity(s));
}
