// Encodes a Swagger 2.0 document (the JSON object buildOpenAPIV2 builds) as the
// gnostic `openapi.v2.Document` protobuf message, which is what kubectl asks for
// with `Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`
// (client-side validation of `kind: List`, `kubectl explain` fallbacks, ...).
// Field numbers follow github.com/google/gnostic-models openapiv2/OpenAPIv2.proto.
// Values that gnostic keeps as `Any` (vendor extensions, default, enum, example)
// carry YAML text in `Any.yaml`, as gnostic does; readers yaml.Unmarshal them.
// Hand-written: one growable buffer; a nested message's content is written in
// place and shifted right once its length (varint) is known.

type Json = any;
type Obj = Record<string, Json>;

class Writer {
  buf: Buffer;
  pos = 0;
  constructor(size = 1 << 20) {
    this.buf = Buffer.allocUnsafe(size);
  }
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  /** Unsigned varint of a non-negative safe integer. */
  private varint(v: number): void {
    this.ensure(10);
    while (v > 0x7f) {
      this.buf[this.pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }
  private tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }
  string(field: number, s: string | undefined): void {
    if (s === undefined || s === null || s === '') return; // proto3 default: omitted
    this.tag(field, 2);
    this.text(String(s));
  }
  /** Length-prefixed UTF-8; short ASCII strings (most of a document) are copied by hand, faster than Buffer.write. */
  private text(str: string): void {
    const n = str.length;
    if (n < 128) {
      this.ensure(n + 1);
      const buf = this.buf;
      let p = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = str.charCodeAt(i);
        if (c >= 0x80) break;
        buf[p++] = c;
      }
      if (i === n) {
        buf[this.pos] = n;
        this.pos = p;
        return;
      }
    }
    const len = Buffer.byteLength(str);
    this.varint(len);
    this.ensure(len);
    this.pos += this.buf.write(str, this.pos, 'utf8');
  }
  strings(field: number, list: unknown): void {
    if (!Array.isArray(list)) return;
    // repeated string: every element is written, even empty ones
    for (const s of list) {
      this.tag(field, 2);
      this.text(String(s));
    }
  }
  bool(field: number, v: unknown, always = false): void {
    if (typeof v !== 'boolean' || (!v && !always)) return;
    this.tag(field, 0);
    this.varint(v ? 1 : 0);
  }
  int64(field: number, v: unknown): void {
    if (typeof v !== 'number' || !Number.isFinite(v) || v === 0) return;
    const n = Math.trunc(v);
    this.tag(field, 0);
    if (n >= 0) return this.varint(n);
    // negative int64: ten-byte two's complement varint
    let big = BigInt.asUintN(64, BigInt(n));
    this.ensure(10);
    for (let i = 0; i < 10; i++) {
      const b = Number(big & 0x7fn);
      big >>= 7n;
      this.buf[this.pos++] = big ? b | 0x80 : b;
      if (!big) break;
    }
  }
  double(field: number, v: unknown): void {
    if (typeof v !== 'number' || v === 0) return;
    this.tag(field, 1);
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }
  /** Writes a length-delimited sub-message whose content `body` writes. */
  message(field: number, body: () => void): void {
    this.tag(field, 2);
    const start = this.pos;
    body();
    const len = this.pos - start;
    const n = varintSize(len);
    this.ensure(n);
    this.buf.copyWithin(start + n, start, this.pos);
    const end = this.pos + n;
    this.pos = start;
    this.varint(len);
    this.pos = end;
  }
  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}

function varintSize(v: number): number {
  let n = 1;
  while (v > 0x7f) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

// ---- YAML for Any values (gnostic stores them as YAML text) ----

const plain = /^[A-Za-z_/][A-Za-z0-9_./ -]*$/;
const yamlReserved = /^(?:true|false|yes|no|on|off|y|n|null|~)$/i;

function yamlScalar(v: Json): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean' || typeof v === 'number') return String(v);
  const s = String(v);
  // plain when unambiguous; otherwise a double-quoted scalar (JSON escapes are valid YAML)
  if (plain.test(s) && !yamlReserved.test(s) && !s.endsWith(' ') && !s.includes(' -') && !s.includes(': ')) return s;
  return JSON.stringify(s);
}

const isCollection = (v: Json): boolean => (Array.isArray(v) && v.length > 0) || (isObj(v) && Object.keys(v).length > 0);

function inline(v: Json): string {
  if (Array.isArray(v)) return '[]';
  if (isObj(v)) return '{}';
  return yamlScalar(v);
}

function yamlBlock(v: Json, indent: number, out: string[]): void {
  const pad = ' '.repeat(indent);
  if (Array.isArray(v)) {
    for (const item of v) {
      if (!isCollection(item)) {
        out.push(`${pad}- ${inline(item)}`);
        continue;
      }
      const at = out.length;
      yamlBlock(item, indent + 2, out);
      out[at] = `${pad}- ${out[at]!.slice(indent + 2)}`;
    }
    return;
  }
  for (const [k, val] of Object.entries(v as Obj)) {
    if (!isCollection(val)) out.push(`${pad}${yamlScalar(k)}: ${inline(val)}`);
    else {
      out.push(`${pad}${yamlScalar(k)}:`);
      yamlBlock(val, indent + 2, out);
    }
  }
}

/** YAML text of a JSON value, newline-terminated (what gnostic puts in Any.yaml). */
export function toYAML(v: Json): string {
  if (!isCollection(v)) return inline(v) + '\n';
  const out: string[] = [];
  yamlBlock(v, 0, out);
  return out.join('\n') + '\n';
}

// ---- messages ----

/** Any{yaml = 2} */
function any(w: Writer, field: number, v: Json): void {
  w.message(field, () => w.string(2, toYAML(v)));
}

/** repeated NamedAny vendor_extension: every `x-` key of `o`. */
function vendorExtensions(w: Writer, field: number, o: Obj): void {
  for (const k in o) {
    if (!k.startsWith('x-')) continue;
    const v = o[k];
    w.message(field, () => {
      w.string(1, k);
      any(w, 2, v);
    });
  }
}

function schema(w: Writer, s: Obj): void {
  w.string(1, s.$ref);
  w.string(2, s.format);
  w.string(3, s.title);
  w.string(4, s.description);
  if (s.default !== undefined) any(w, 5, s.default);
  w.double(6, s.multipleOf);
  w.double(7, s.maximum);
  w.bool(8, s.exclusiveMaximum);
  w.double(9, s.minimum);
  w.bool(10, s.exclusiveMinimum);
  w.int64(11, s.maxLength);
  w.int64(12, s.minLength);
  w.string(13, s.pattern);
  w.int64(14, s.maxItems);
  w.int64(15, s.minItems);
  w.bool(16, s.uniqueItems);
  w.int64(17, s.maxProperties);
  w.int64(18, s.minProperties);
  w.strings(19, s.required);
  if (Array.isArray(s.enum)) for (const e of s.enum) any(w, 20, e);
  const ap = s.additionalProperties;
  if (typeof ap === 'boolean') w.message(21, () => w.bool(2, ap, true));
  else if (isObj(ap)) w.message(21, () => w.message(1, () => schema(w, ap)));
  if (s.type !== undefined) w.message(22, () => w.strings(1, Array.isArray(s.type) ? s.type : [s.type]));
  if (Array.isArray(s.items)) w.message(23, () => { for (const it of s.items) if (isObj(it)) w.message(1, () => schema(w, it)); });
  else if (isObj(s.items)) w.message(23, () => w.message(1, () => schema(w, s.items)));
  if (Array.isArray(s.allOf)) for (const a of s.allOf) if (isObj(a)) w.message(24, () => schema(w, a));
  if (isObj(s.properties)) {
    const props = s.properties;
    w.message(25, () => {
      for (const name in props) {
        const p = props[name];
        if (!isObj(p)) continue;
        w.message(1, () => {
          w.string(1, name);
          w.message(2, () => schema(w, p));
        });
      }
    });
  }
  w.string(26, s.discriminator);
  w.bool(27, s.readOnly);
  if (isObj(s.xml)) {
    const x = s.xml;
    w.message(28, () => {
      w.string(1, x.name);
      w.string(2, x.namespace);
      w.string(3, x.prefix);
      w.bool(4, x.attribute);
      w.bool(5, x.wrapped);
      vendorExtensions(w, 6, x);
    });
  }
  externalDocs(w, 29, s.externalDocs);
  if (s.example !== undefined) any(w, 30, s.example);
  vendorExtensions(w, 31, s);
}

function externalDocs(w: Writer, field: number, d: Json): void {
  if (!isObj(d)) return;
  w.message(field, () => {
    w.string(1, d.description);
    w.string(2, d.url);
    vendorExtensions(w, 3, d);
  });
}

/**
 * The run of fields that PrimitivesItems, Header and the non-body parameter
 * sub-schemas share, in the same order: type, format, items, collectionFormat,
 * default, maximum, exclusiveMaximum, minimum, exclusiveMinimum, maxLength,
 * minLength, pattern, maxItems, minItems, uniqueItems, enum, multipleOf,
 * numbered from `base`. Vendor extensions are left to the caller (their number differs).
 */
function primitiveFields(w: Writer, base: number, p: Obj): void {
  w.string(base, p.type);
  w.string(base + 1, p.format);
  if (isObj(p.items)) w.message(base + 2, () => primitivesItems(w, p.items));
  w.string(base + 3, p.collectionFormat);
  if (p.default !== undefined) any(w, base + 4, p.default);
  w.double(base + 5, p.maximum);
  w.bool(base + 6, p.exclusiveMaximum);
  w.double(base + 7, p.minimum);
  w.bool(base + 8, p.exclusiveMinimum);
  w.int64(base + 9, p.maxLength);
  w.int64(base + 10, p.minLength);
  w.string(base + 11, p.pattern);
  w.int64(base + 12, p.maxItems);
  w.int64(base + 13, p.minItems);
  w.bool(base + 14, p.uniqueItems);
  if (Array.isArray(p.enum)) for (const e of p.enum) any(w, base + 15, e);
  w.double(base + 16, p.multipleOf);
}

function primitivesItems(w: Writer, p: Obj): void {
  primitiveFields(w, 1, p);
  vendorExtensions(w, 18, p);
}

/** ParametersItem{parameter = 1 | json_reference = 2} */
function parametersItem(w: Writer, p: Obj): void {
  if (typeof p.$ref === 'string') {
    w.message(2, () => {
      w.string(1, p.$ref);
      w.string(2, p.description);
    });
    return;
  }
  w.message(1, () => parameter(w, p));
}

/** Parameter{body_parameter = 1 | non_body_parameter = 2} */
function parameter(w: Writer, p: Obj): void {
  if (p.in === 'body') {
    // Parameter.body_parameter = 1
    w.message(1, () => {
      w.string(1, p.description);
      w.string(2, p.name);
      w.string(3, p.in);
      w.bool(4, p.required);
      if (isObj(p.schema)) w.message(5, () => schema(w, p.schema));
      vendorExtensions(w, 6, p);
    });
    return;
  }
  // Parameter.non_body_parameter = 2: header = 1, formData = 2, query = 3, path = 4
  const sub = p.in === 'header' ? 1 : p.in === 'formData' ? 2 : p.in === 'path' ? 4 : 3;
  const withEmpty = sub === 2 || sub === 3; // query and formData have allow_empty_value = 5
  w.message(2, () =>
    w.message(sub, () => {
      w.bool(1, p.required);
      w.string(2, p.in);
      w.string(3, p.description);
      w.string(4, p.name);
      if (withEmpty) w.bool(5, p.allowEmptyValue);
      const base = withEmpty ? 6 : 5;
      primitiveFields(w, base, p);
      vendorExtensions(w, base + 17, p);
    }),
  );
}

function response(w: Writer, r: Obj): void {
  w.string(1, r.description);
  if (isObj(r.schema)) {
    const s = r.schema;
    // SchemaItem{schema = 1 | file_schema = 2}
    w.message(2, () => {
      if (s.type === 'file') {
        w.message(2, () => {
          w.string(1, s.format);
          w.string(2, s.title);
          w.string(3, s.description);
          if (s.default !== undefined) any(w, 4, s.default);
          w.strings(5, s.required);
          w.string(6, s.type);
          w.bool(7, s.readOnly);
          externalDocs(w, 8, s.externalDocs);
          if (s.example !== undefined) any(w, 9, s.example);
          vendorExtensions(w, 10, s);
        });
      } else w.message(1, () => schema(w, s));
    });
  }
  if (isObj(r.headers)) {
    const hs = r.headers;
    w.message(3, () => {
      for (const name in hs) {
        const h = hs[name];
        if (!isObj(h)) continue;
        w.message(1, () => {
          w.string(1, name);
          w.message(2, () => {
            primitiveFields(w, 1, h);
            w.string(18, h.description);
            vendorExtensions(w, 19, h);
          });
        });
      }
    });
  }
  if (isObj(r.examples)) {
    const ex = r.examples;
    w.message(4, () => {
      for (const k in ex) w.message(1, () => { w.string(1, k); any(w, 2, ex[k]); });
    });
  }
  vendorExtensions(w, 5, r);
}

function operation(w: Writer, op: Obj): void {
  w.strings(1, op.tags);
  w.string(2, op.summary);
  w.string(3, op.description);
  externalDocs(w, 4, op.externalDocs);
  w.string(5, op.operationId);
  w.strings(6, op.produces);
  w.strings(7, op.consumes);
  if (Array.isArray(op.parameters)) for (const p of op.parameters) if (isObj(p)) w.message(8, () => parametersItem(w, p));
  if (isObj(op.responses)) {
    const rs = op.responses;
    w.message(9, () => {
      for (const code in rs) {
        if (code.startsWith('x-')) continue;
        const r = rs[code];
        if (!isObj(r)) continue;
        // NamedResponseValue{name, ResponseValue{response = 1 | json_reference = 2}}
        w.message(1, () => {
          w.string(1, code);
          w.message(2, () => {
            if (typeof r.$ref === 'string') w.message(2, () => { w.string(1, r.$ref); w.string(2, r.description); });
            else w.message(1, () => response(w, r));
          });
        });
      }
      vendorExtensions(w, 2, rs);
    });
  }
  w.strings(10, op.schemes);
  w.bool(11, op.deprecated);
  securityRequirements(w, 12, op.security);
  vendorExtensions(w, 13, op);
}

const methodField: Record<string, number> = { get: 2, put: 3, post: 4, delete: 5, options: 6, head: 7, patch: 8 };

function pathItem(w: Writer, item: Obj): void {
  w.string(1, item.$ref);
  for (const [method, field] of Object.entries(methodField)) {
    const op = item[method];
    if (isObj(op)) w.message(field, () => operation(w, op));
  }
  if (Array.isArray(item.parameters)) for (const p of item.parameters) if (isObj(p)) w.message(9, () => parametersItem(w, p));
  vendorExtensions(w, 10, item);
}

/** repeated SecurityRequirement{repeated NamedStringArray{name, StringArray{value}}} */
function securityRequirements(w: Writer, field: number, list: Json): void {
  if (!Array.isArray(list)) return;
  for (const req of list) {
    if (!isObj(req)) continue;
    w.message(field, () => {
      for (const name in req) {
        w.message(1, () => {
          w.string(1, name);
          w.message(2, () => w.strings(1, req[name]));
        });
      }
    });
  }
}

function securityDefinition(w: Writer, d: Obj): void {
  // SecurityDefinitionsItem oneof: basic = 1, apiKey = 2, oauth2 implicit = 3, password = 4, application = 5, accessCode = 6
  if (d.type === 'basic') {
    w.message(1, () => {
      w.string(1, d.type);
      w.string(2, d.description);
      vendorExtensions(w, 3, d);
    });
    return;
  }
  if (d.type === 'apiKey') {
    w.message(2, () => {
      w.string(1, d.type);
      w.string(2, d.name);
      w.string(3, d.in);
      w.string(4, d.description);
      vendorExtensions(w, 5, d);
    });
    return;
  }
  if (d.type !== 'oauth2') return;
  const scopes = () => {
    if (!isObj(d.scopes)) return;
    const sc = d.scopes;
    w.message(3, () => { for (const k in sc) w.message(1, () => { w.string(1, k); w.string(2, String(sc[k])); }); });
  };
  const field = d.flow === 'implicit' ? 3 : d.flow === 'password' ? 4 : d.flow === 'application' ? 5 : 6;
  w.message(field, () => {
    w.string(1, d.type);
    w.string(2, d.flow);
    scopes();
    let n = 4;
    if (field === 3 || field === 6) w.string(n++, d.authorizationUrl);
    if (field !== 3) w.string(n++, d.tokenUrl);
    w.string(n++, d.description);
    vendorExtensions(w, n, d);
  });
}

/** Encodes a Swagger 2.0 document object as a gnostic `openapi.v2.Document` message. */
export function encodeOpenAPIV2Protobuf(doc: object): Buffer {
  const d = doc as Obj;
  const w = new Writer();
  w.string(1, d.swagger);
  if (isObj(d.info)) {
    const info = d.info;
    w.message(2, () => {
      w.string(1, info.title);
      w.string(2, info.version);
      w.string(3, info.description);
      w.string(4, info.termsOfService);
      if (isObj(info.contact)) {
        const c = info.contact;
        w.message(5, () => { w.string(1, c.name); w.string(2, c.url); w.string(3, c.email); vendorExtensions(w, 4, c); });
      }
      if (isObj(info.license)) {
        const l = info.license;
        w.message(6, () => { w.string(1, l.name); w.string(2, l.url); vendorExtensions(w, 3, l); });
      }
      vendorExtensions(w, 7, info);
    });
  }
  w.string(3, d.host);
  w.string(4, d.basePath);
  w.strings(5, d.schemes);
  w.strings(6, d.consumes);
  w.strings(7, d.produces);
  if (isObj(d.paths)) {
    const paths = d.paths;
    w.message(8, () => {
      vendorExtensions(w, 1, paths);
      for (const p in paths) {
        if (p.startsWith('x-') || !isObj(paths[p])) continue;
        w.message(2, () => {
          w.string(1, p);
          w.message(2, () => pathItem(w, paths[p]));
        });
      }
    });
  }
  if (isObj(d.definitions)) {
    const defs = d.definitions;
    w.message(9, () => {
      for (const name in defs) {
        if (!isObj(defs[name])) continue;
        w.message(1, () => {
          w.string(1, name);
          w.message(2, () => schema(w, defs[name]));
        });
      }
    });
  }
  if (isObj(d.parameters)) {
    const ps = d.parameters;
    w.message(10, () => {
      for (const name in ps) {
        const p = ps[name];
        if (!isObj(p)) continue;
        // NamedParameter{name, Parameter}: the Parameter is what ParametersItem.parameter wraps
        w.message(1, () => {
          w.string(1, name);
          w.message(2, () => parameter(w, p));
        });
      }
    });
  }
  if (isObj(d.responses)) {
    const rs = d.responses;
    w.message(11, () => {
      for (const name in rs) {
        if (!isObj(rs[name])) continue;
        w.message(1, () => { w.string(1, name); w.message(2, () => response(w, rs[name])); });
      }
    });
  }
  securityRequirements(w, 12, d.security);
  if (isObj(d.securityDefinitions)) {
    const sd = d.securityDefinitions;
    w.message(13, () => {
      for (const name in sd) {
        if (!isObj(sd[name])) continue;
        w.message(1, () => {
          w.string(1, name);
          w.message(2, () => securityDefinition(w, sd[name]));
        });
      }
    });
  }
  if (Array.isArray(d.tags)) {
    for (const t of d.tags) {
      if (!isObj(t)) continue;
      w.message(14, () => { w.string(1, t.name); w.string(2, t.description); externalDocs(w, 3, t.externalDocs); vendorExtensions(w, 4, t); });
    }
  }
  externalDocs(w, 15, d.externalDocs);
  vendorExtensions(w, 16, d);
  return w.finish();
}
