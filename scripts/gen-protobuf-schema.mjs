#!/usr/bin/env node
// Builds src/api/protobuf/schema.json: upstream's protobuf field numbers for the
// built-in kinds, as a compact table of facts (no upstream code is copied).
//
// Sources, in order of preference:
//  1. the real kubectl binary (1.32 here): gogo-protobuf registers every
//     generated.proto as a gzipped FileDescriptorProto, so the exact field
//     numbers of the client we must understand are inside it. Its Go reflection
//     data also carries each struct field's tags (`json:"x,omitempty"
//     protobuf:"varint,4,opt,name=x"`) and type kind, which tells which fields
//     are pointers (zero is meaningful) and which are omitempty.
//  2. .proto texts in a directory (default /tmp/k8s-protos) for packages the
//     binary lacks (apiextensions.k8s.io).
//
// Usage: node scripts/gen-protobuf-schema.mjs [--kubectl PATH] [--protos DIR] [--out FILE]
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { execFileSync } from 'node:child_process';

const args = process.argv.slice(2);
function opt(name, def) {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
}
function which(cmd) {
  try { return execFileSync('sh', ['-c', `command -v ${cmd}`]).toString().trim(); } catch { return ''; }
}
const kubectlPath = opt('--kubectl', which('kubectl'));
const protoDir = opt('--protos', '/tmp/k8s-protos');
const outFile = opt('--out', path.join(path.dirname(new URL(import.meta.url).pathname), '../src/api/protobuf/schema.json'));

// ---------- a minimal protobuf reader (for FileDescriptorProto) ----------
function* fields(buf) {
  let i = 0;
  const varint = () => {
    let v = 0, mul = 1, b;
    do { b = buf[i++]; v += (b & 0x7f) * mul; mul *= 128; } while (b & 0x80);
    return v;
  };
  while (i < buf.length) {
    const key = varint();
    const num = Math.floor(key / 8), wt = key & 7;
    if (wt === 0) yield [num, varint()];
    else if (wt === 2) { const n = varint(); yield [num, buf.subarray(i, i + n)]; i += n; }
    else if (wt === 1) { yield [num, buf.subarray(i, i + 8)]; i += 8; }
    else if (wt === 5) { yield [num, buf.subarray(i, i + 4)]; i += 4; }
    else throw new Error('bad wire type ' + wt);
  }
}

// descriptor.proto FieldDescriptorProto.Type numbers → scalar names
const scalarOfType = { 1: 'double', 2: 'float', 3: 'int64', 4: 'uint64', 5: 'int32', 6: 'fixed64', 7: 'fixed32', 8: 'bool', 9: 'string', 12: 'bytes', 13: 'uint32', 15: 'sfixed32', 16: 'sfixed64', 17: 'sint32', 18: 'sint64' };

/** packages: Map<package, Map<messageName, {fields: [{name, number, label, type, typeName}], mapEntry}>> */
const messages = new Map(); // fully qualified proto name → { fields, mapEntry }

function parseDescriptorMessage(buf, prefix) {
  let name = '';
  const fs_ = [], nested = [];
  let mapEntry = false;
  for (const [n, v] of fields(buf)) {
    if (n === 1) name = v.toString();
    else if (n === 2) {
      const f = {};
      for (const [fn, fv] of fields(v)) {
        if (fn === 1) f.name = fv.toString();
        else if (fn === 3) f.number = fv;
        else if (fn === 4) f.label = fv;
        else if (fn === 5) f.type = fv;
        else if (fn === 6) f.typeName = fv.toString().replace(/^\./, '');
      }
      fs_.push(f);
    } else if (n === 3) nested.push(v);
    else if (n === 7) for (const [on, ov] of fields(v)) if (on === 7) mapEntry = !!ov;
  }
  const full = `${prefix}.${name}`;
  messages.set(full, { fields: fs_, mapEntry });
  for (const nb of nested) parseDescriptorMessage(nb, full);
}

function loadDescriptorsFromBinary(bin) {
  const magic = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00]);
  const files = new Set();
  let count = 0;
  for (let i = bin.indexOf(magic); i >= 0 && count < 100000; i = bin.indexOf(magic, i + 1)) {
    count++;
    let out;
    // one gzip member only (header has no optional parts here): raw inflate stops at the stream's end
    if (bin[i + 3] !== 0) continue;
    try { out = zlib.inflateRawSync(bin.subarray(i + 10, i + 1_000_000), { finishFlush: zlib.constants.Z_SYNC_FLUSH }); } catch { continue; }
    let fname = '', pkg = '';
    const msgs = [];
    try {
      for (const [n, v] of fields(out)) {
        if (n === 1) fname = v.toString();
        else if (n === 2) pkg = v.toString();
        else if (n === 4) msgs.push(v);
      }
    } catch { continue; }
    if (!/^k8s\.io\/.*generated\.proto$/.test(fname) || files.has(fname)) continue;
    files.add(fname);
    for (const m of msgs) parseDescriptorMessage(m, pkg);
  }
  return files;
}

// ---------- .proto text parser (for packages missing from the binary) ----------
function loadProtoText(text) {
  const src = text.replace(/\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '');
  const pkg = /package\s+([\w.]+)\s*;/.exec(src)?.[1];
  if (!pkg) return;
  const re = /message\s+(\w+)\s*\{([^}]*)\}/g;
  let m;
  while ((m = re.exec(src))) {
    const fs_ = [];
    for (const line of m[2].split(';')) {
      const t = line.trim();
      let fm;
      if ((fm = /^map\s*<\s*(\w+)\s*,\s*([\w.]+)\s*>\s+(\w+)\s*=\s*(\d+)/.exec(t))) {
        fs_.push({ name: fm[3], number: +fm[4], map: [fm[1], fm[2]] });
      } else if ((fm = /^(optional|repeated|required)\s+([\w.]+)\s+(\w+)\s*=\s*(\d+)/.exec(t))) {
        fs_.push({ name: fm[3], number: +fm[4], label: fm[1] === 'repeated' ? 3 : 1, textType: fm[2] });
      }
    }
    messages.set(`${pkg}.${m[1]}`, { fields: fs_, mapEntry: false, pkg });
  }
}

// ---------- Go reflection data: pointer-ness and omitempty per field ----------
// abi.Name: flags byte (bit1 = has tag), varint len, name, [varint len, tag].
// abi.StructField: {Name *byte, Typ *Type, Offset uintptr} (24 bytes on amd64).
// abi.Type.Kind_ is the byte at offset 23; kind&0x1f: 22 = Ptr.
function readVarint(buf, i) {
  let v = 0, shift = 0, b;
  do { b = buf[i++]; v |= (b & 0x7f) << shift; shift += 7; } while (b & 0x80 && shift < 28);
  return [v, i];
}
function goReflection(bin) {
  const segs = [];
  const phoff = Number(bin.readBigUInt64LE(0x20)), phentsize = bin.readUInt16LE(0x36), phnum = bin.readUInt16LE(0x38);
  for (let k = 0; k < phnum; k++) {
    const o = phoff + k * phentsize;
    if (bin.readUInt32LE(o) !== 1) continue; // PT_LOAD
    segs.push({ off: Number(bin.readBigUInt64LE(o + 8)), vaddr: Number(bin.readBigUInt64LE(o + 16)), filesz: Number(bin.readBigUInt64LE(o + 32)) });
  }
  const toVaddr = (off) => { for (const s of segs) if (off >= s.off && off < s.off + s.filesz) return off - s.off + s.vaddr; return -1; };
  const toOff = (va) => { for (const s of segs) if (va >= s.vaddr && va < s.vaddr + s.filesz) return va - s.vaddr + s.off; return -1; };
  const parseName = (s) => {
    const flags = bin[s];
    if (flags & 0xf0) return null;
    let [len, i] = readVarint(bin, s + 1);
    if (len < 1 || len > 80) return null;
    const name = bin.toString('latin1', i, i + len);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return null;
    i += len;
    let tag = '';
    if (flags & 2) {
      const [tl, j] = readVarint(bin, i);
      if (tl > 2000) return null;
      tag = bin.toString('latin1', j, j + tl);
      i = j + tl;
    }
    return { name, tag, end: i };
  };
  // 1. every Name record whose tag has a protobuf key
  const names = new Map(); // vaddr → {name, tag}
  const needle = Buffer.from('protobuf:"');
  for (let q = bin.indexOf(needle); q >= 0; q = bin.indexOf(needle, q + 1)) {
    for (let s = q - 1; s >= Math.max(0, q - 600); s--) {
      if (bin[s] & 0xf0 || !(bin[s] & 2)) continue;
      const r = parseName(s);
      if (r && r.end > q && s + 1 < q) {
        const tagStart = r.end - r.tag.length;
        if (tagStart <= q) { names.set(toVaddr(s), r); break; }
      }
    }
  }
  // 2. StructField records pointing at them
  const fieldsAt = new Map(); // file offset of StructField → info
  for (const s of segs) {
    const end = s.off + s.filesz - 24;
    for (let p = s.off + ((8 - (s.off % 8)) % 8); p < end; p += 8) {
      if (bin.readUInt32LE(p + 4) !== 0) continue;
      const r = names.get(bin.readUInt32LE(p));
      if (!r) continue;
      const typ = toOff(Number(bin.readBigUInt64LE(p + 8)));
      if (typ < 0) continue;
      const kind = bin[typ + 23] & 0x1f;
      fieldsAt.set(p, { ...r, kind });
    }
  }
  // 3. the struct types owning those fields: abi.StructType = Type (48 bytes), PkgPath (8), Fields slice (24);
  //    a named type's name is Type.Str (int32 at +40), an offset from the start of .rodata (runtime.types),
  //    and its package is UncommonType.PkgPath (int32 at +80 when TFlag&1).
  const shoff = Number(bin.readBigUInt64LE(0x28)), shentsize = bin.readUInt16LE(0x3a), shnum = bin.readUInt16LE(0x3c), shstrndx = bin.readUInt16LE(0x3e);
  const strtab = Number(bin.readBigUInt64LE(shoff + shstrndx * shentsize + 24));
  let typesBase = -1;
  for (let k = 0; k < shnum; k++) {
    const o = shoff + k * shentsize;
    const nm = bin.toString('latin1', strtab + bin.readUInt32LE(o), strtab + bin.readUInt32LE(o) + 8);
    if (nm.startsWith('.rodata\0')) typesBase = Number(bin.readBigUInt64LE(o + 16));
  }
  const rawName = (va) => {
    const s = toOff(va);
    if (s < 0) return null;
    const [len, i] = readVarint(bin, s + 1);
    return bin.toString('latin1', i, i + len);
  };
  const candidates = new Set();
  for (const p of fieldsAt.keys()) for (const d of [0, 24, 48]) candidates.add(toVaddr(p - d));
  const structs = new Map(); // "k8s.io/api/apps/v1.DeploymentSpec" → [fields]
  for (const s of segs) {
    const end = s.off + s.filesz - 16;
    for (let p = s.off + ((8 - (s.off % 8)) % 8); p < end; p += 8) {
      if (bin.readUInt32LE(p + 4) !== 0) continue;
      const a = bin.readUInt32LE(p);
      if (!candidates.has(a)) continue;
      const n = Number(bin.readBigUInt64LE(p + 8));
      if (n < 1 || n > 300 || Number(bin.readBigUInt64LE(p + 16)) !== n) continue;
      const t = p - 56;
      if ((bin[t + 23] & 0x1f) !== 25 || !(bin[t + 20] & 1)) continue; // named struct
      let name = rawName(typesBase + bin.readInt32LE(t + 40));
      if (!name) continue;
      if (bin[t + 20] & 2) name = name.slice(1); // TFlagExtraStar
      const pkg = rawName(typesBase + bin.readInt32LE(t + 80));
      if (!pkg) continue;
      const list = [];
      const a0 = toOff(a);
      for (let k = 0; k < n; k++) { const f = fieldsAt.get(a0 + 24 * k); if (f) list.push(f); }
      if (list.length) structs.set(`${pkg}.${name.slice(name.lastIndexOf('.') + 1)}`, list);
    }
  }
  const parse = (f) => {
    const pb = /protobuf:"([^"]*)"/.exec(f.tag)?.[1] ?? '';
    const parts = pb.split(',');
    const json = /json:"([^"]*)"/.exec(f.tag)?.[1] ?? '';
    return { number: +parts[1], name: parts.find((x) => x.startsWith('name='))?.slice(5), json: json.split(',')[0], inline: json.split(',').includes('inline'), pointer: f.kind === 22, omitempty: json.split(',').includes('omitempty') };
  };
  return new Map([...structs].map(([k, v]) => [k, v.map(parse)]));
}

// ---------- main ----------
if (!kubectlPath) throw new Error('kubectl not found; pass --kubectl PATH');
const bin = fs.readFileSync(fs.realpathSync(kubectlPath));
const files = loadDescriptorsFromBinary(bin);
console.error(`descriptors: ${files.size} files, ${messages.size} messages from ${kubectlPath}`);
if (fs.existsSync(protoDir)) {
  for (const f of fs.readdirSync(protoDir)) if (f.endsWith('.proto')) loadProtoText(fs.readFileSync(path.join(protoDir, f), 'utf8'));
}

// Go facts keyed by Go package path + struct name (go-to-protobuf keeps struct names as message names)
const goStructs = goReflection(bin);
console.error(`go structs with protobuf tags: ${goStructs.size}`)
const goKey = (protoName) => {
  const i = protoName.lastIndexOf('.');
  const pkg = protoName.slice(0, i).replace(/^k8s\.io\./, '').replace(/\./g, '/').replace(/^/, 'k8s.io/').replace('k8s.io/apiextensions_apiserver', 'k8s.io/apiextensions-apiserver');
  return `${pkg}.${protoName.slice(i + 1)}`;
};

// Go facts for packages the kubectl binary does not carry (apiextensions-apiserver's types.go):
// "field[=jsonName][:flags]" with the same flags as above.
const ext = 'k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.';
const handFacts = {
  CustomResourceDefinitionSpec: 'group:k names:k scope:k versions:k conversion:p',
  CustomResourceDefinitionNames: 'plural:k kind:k',
  CustomResourceDefinitionVersion: 'name:k served:k storage:k deprecationWarning:p schema:p subresources:p',
  CustomResourceDefinitionStatus: 'acceptedNames:k storedVersions:k',
  CustomResourceDefinitionCondition: 'type:k status:k',
  CustomResourceColumnDefinition: 'name:k type:k jsonPath:k',
  CustomResourceConversion: 'strategy:k webhook:p',
  WebhookConversion: 'clientConfig:p conversionReviewVersions:k',
  WebhookClientConfig: 'url:p service:p',
  ServiceReference: 'namespace:k name:k path:p port:p',
  CustomResourceSubresources: 'status:p scale:p',
  CustomResourceSubresourceScale: 'specReplicasPath:k statusReplicasPath:k labelSelectorPath:p',
  CustomResourceValidation: 'openAPIV3Schema:p',
  JSONSchemaProps: 'schema=$schema ref=$ref:p default:p maximum:p minimum:p maxLength:p minLength:p maxItems:p minItems:p multipleOf:p maxProperties:p minProperties:p items:p not:p additionalProperties:p additionalItems:p externalDocs:p example:p ' +
    'xKubernetesPreserveUnknownFields=x-kubernetes-preserve-unknown-fields:p xKubernetesEmbeddedResource=x-kubernetes-embedded-resource xKubernetesIntOrString=x-kubernetes-int-or-string ' +
    'xKubernetesListMapKeys=x-kubernetes-list-map-keys xKubernetesListType=x-kubernetes-list-type:p xKubernetesMapType=x-kubernetes-map-type:p xKubernetesValidations=x-kubernetes-validations',
  ValidationRule: 'rule:k reason:p optionalOldSelf:p',
  SelectableField: 'jsonPath:k',
  ExternalDocumentation: '',
  CustomResourceDefinition: '',
  CustomResourceSubresourceStatus: '',
};
const handFactsByName = new Map(Object.entries(handFacts).map(([m, spec]) => [ext + m, Object.fromEntries(spec.split(' ').filter(Boolean).map((x) => {
  const [lhs, flags = ''] = x.split(':');
  const [field, json] = lhs.split('=');
  return [field, { json, flags }];
}))]));

// proto name → OpenAPI definition name
function defName(protoName) {
  return protoName.replace(/^k8s\.io\.apiextensions_apiserver\./, 'io.k8s.apiextensions-apiserver.').replace(/^k8s\.io\./, 'io.k8s.');
}
// resolve a type name used in .proto text relative to its package
function resolveText(pkg, t) {
  if (scalarOfType[Object.keys(scalarOfType).find((k) => scalarOfType[k] === t)] === t) return t;
  if (messages.has(t)) return t;
  if (messages.has(`${pkg}.${t}`)) return `${pkg}.${t}`;
  return t;
}

const roots = [
  // every kind in src/api/kinds (group/version → proto package)
  ...['Namespace', 'Pod', 'Service', 'Endpoints', 'ConfigMap', 'Secret', 'ServiceAccount', 'Node', 'Event', 'PersistentVolume', 'PersistentVolumeClaim', 'ReplicationController', 'LimitRange', 'ResourceQuota', 'PodTemplate', 'ComponentStatus', 'Binding'].map((k) => `k8s.io.api.core.v1.${k}`),
  ...['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'ControllerRevision'].map((k) => `k8s.io.api.apps.v1.${k}`),
  'k8s.io.api.batch.v1.Job', 'k8s.io.api.batch.v1.CronJob',
  'k8s.io.api.networking.v1.Ingress', 'k8s.io.api.networking.v1.IngressClass', 'k8s.io.api.networking.v1.NetworkPolicy',
  'k8s.io.api.discovery.v1.EndpointSlice',
  ...['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding'].map((k) => `k8s.io.api.rbac.v1.${k}`),
  ...['StorageClass', 'CSIDriver', 'CSINode', 'VolumeAttachment'].map((k) => `k8s.io.api.storage.v1.${k}`),
  'k8s.io.api.coordination.v1.Lease', 'k8s.io.api.events.v1.Event',
  'k8s.io.api.policy.v1.PodDisruptionBudget', 'k8s.io.api.policy.v1.Eviction',
  'k8s.io.api.scheduling.v1.PriorityClass',
  'k8s.io.api.autoscaling.v1.HorizontalPodAutoscaler', 'k8s.io.api.autoscaling.v1.Scale', 'k8s.io.api.autoscaling.v2.HorizontalPodAutoscaler',
  'k8s.io.api.node.v1.RuntimeClass',
  'k8s.io.api.certificates.v1.CertificateSigningRequest',
  'k8s.io.api.admissionregistration.v1.MutatingWebhookConfiguration', 'k8s.io.api.admissionregistration.v1.ValidatingWebhookConfiguration',
  'k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition',
  // subresource and option bodies clients send
  'k8s.io.api.authentication.v1.TokenRequest',
  'k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions', 'k8s.io.apimachinery.pkg.apis.meta.v1.Status',
];
// Types whose protobuf form differs from their JSON form: the decoder handles them itself.
const special = new Set(['Time', 'MicroTime', 'Duration', 'FieldsV1', 'Quantity', 'IntOrString', 'RawExtension', 'JSON'].map((x) => x));
const specialProto = new Set([
  'k8s.io.apimachinery.pkg.apis.meta.v1.Time', 'k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime', 'k8s.io.apimachinery.pkg.apis.meta.v1.Duration',
  'k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1', 'k8s.io.apimachinery.pkg.api.resource.Quantity', 'k8s.io.apimachinery.pkg.util.intstr.IntOrString',
  'k8s.io.apimachinery.pkg.runtime.RawExtension', 'k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSON',
]);
void special;

const out = {};
const stats = { messages: 0, withGoFacts: 0, ambiguous: 0, missing: [] };
const queue = [...roots];
const seen = new Set();
while (queue.length) {
  const name = queue.shift();
  if (seen.has(name)) continue;
  seen.add(name);
  const msg = messages.get(name);
  if (!msg) { stats.missing.push(name); continue; }
  if (specialProto.has(name)) continue;
  const pkg = name.slice(0, name.lastIndexOf('.'));
  const goFields = goStructs.get(goKey(name));
  const runs = goFields ? [goFields] : [];
  if (runs.length) stats.withGoFacts++;
  const row = {};
  for (const f of msg.fields) {
    let type, flags = '', keyType, jsonName = f.name;
    if (f.map) { // from .proto text
      keyType = f.map[0];
      type = resolveText(pkg, f.map[1]);
      flags = 'm';
    } else if (f.textType) {
      type = resolveText(pkg, f.textType);
      if (f.label === 3) flags = 'r';
    } else if (f.type === 11 || f.type === 14) {
      const target = messages.get(f.typeName);
      if (target?.mapEntry) {
        const [k, v] = [target.fields.find((x) => x.number === 1), target.fields.find((x) => x.number === 2)];
        keyType = scalarOfType[k.type];
        type = v.type === 11 ? v.typeName : scalarOfType[v.type];
        flags = 'm';
      } else {
        type = f.type === 14 ? 'int32' : f.typeName;
        if (f.label === 3) flags = 'r';
      }
    } else {
      type = scalarOfType[f.type];
      if (f.label === 3) flags = 'r';
    }
    // Go facts: p = pointer (a zero value is meaningful), k = not omitempty (Go's JSON keeps zero values)
    const facts = runs.map((r) => r.find((x) => x.number === f.number)).filter(Boolean);
    if (facts.length) {
      const ptr = facts.filter((x) => x.pointer).length, keep = facts.filter((x) => !x.omitempty).length;
      if ((ptr && ptr < facts.length) || (keep && keep < facts.length)) { stats.ambiguous++; if (process.env.DEBUG) console.error('ambiguous', name, f.name, `ptr ${ptr}/${facts.length} keep ${keep}/${facts.length}`); }
      // Go's JSON name (e.g. admissionregistration's proto field "Webhooks" is "webhooks" in JSON)
      if (facts[0].json && facts[0].json !== f.name) jsonName = facts[0].json;
      if (ptr * 2 >= facts.length && ptr) flags += 'p';
      if (keep * 2 >= facts.length && keep) flags += 'k';
      // i = embedded with `json:",inline"`: its fields belong to the enclosing JSON object
      if (facts[0].inline) flags += 'i';
    } else if (handFactsByName.has(name)) {
      const h = handFactsByName.get(name)[f.name];
      if (h?.flags) flags += h.flags;
      if (h?.json) jsonName = h.json;
    } else if (!runs.length) {
      flags += '?'; // no Go facts: decoder keeps wire values as they are
    }
    if (scalarOfType[Object.keys(scalarOfType).find((k) => scalarOfType[k] === type)] !== type) {
      if (!messages.has(type)) stats.missing.push(`${name}.${f.name}: ${type}`);
      else queue.push(type);
      type = defName(type);
    }
    const entry = [jsonName, type];
    if (flags) entry.push(flags);
    if (keyType) { if (!flags) entry.push(''); entry.push(keyType); }
    row[f.number] = entry;
  }
  out[defName(name)] = row;
  stats.messages++;
}
// Packages no source provided this time (apiextensions when its .proto is not in --protos):
// keep their rows from the previous schema.json rather than dropping them.
if (stats.missing.length && fs.existsSync(outFile)) {
  const old = JSON.parse(fs.readFileSync(outFile, 'utf8'));
  const pkgs = new Set(stats.missing.filter((m) => !m.includes(':')).map((m) => defName(m.slice(0, m.lastIndexOf('.') + 1))));
  let kept = 0;
  for (const [k, v] of Object.entries(old)) {
    if (!out[k] && [...pkgs].some((p) => k.startsWith(p))) { out[k] = v; kept++; }
  }
  if (kept) console.error(`kept ${kept} messages of ${[...pkgs].join(', ')} from the previous ${path.basename(outFile)}`);
}
const sortedOut = Object.fromEntries(Object.keys(out).sort().map((k) => [k, out[k]]));
const text = '{\n' + Object.entries(sortedOut).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(',\n') + '\n}\n';
fs.mkdirSync(path.dirname(outFile), { recursive: true });
fs.writeFileSync(outFile, text);
console.error(`wrote ${outFile}: ${stats.messages} messages (${stats.withGoFacts} with Go field facts, ${stats.ambiguous} ambiguous fields)`);
if (stats.missing.length) console.error('missing:', stats.missing.join(', '));
