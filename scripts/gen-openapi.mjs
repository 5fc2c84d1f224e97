// Generates src/api/openapi/definitions.json: every type of the npm package
// `kubernetes-types` as a Swagger-2.0-style JSON schema keyed by upstream's
// definition name (io.k8s.api.core.v1.Pod, ...), with field descriptions,
// integer formats, GVK extensions and the patch metadata kubectl needs.
//
// Run: node scripts/gen-openapi.mjs   (the output is checked in)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { createFormatter, createParser, DEFAULT_CONFIG, SchemaGenerator } from 'ts-json-schema-generator';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const typesDir = path.join(repo, 'node_modules/kubernetes-types');
const outFile = path.join(repo, 'src/api/openapi/definitions.json');
const t0 = Date.now();

// ---------------------------------------------------------------------------
// Module (kubernetes-types file, without .d.ts) -> upstream definition prefix.
function prefixOf(mod) {
  if (mod === 'meta/v1') return 'io.k8s.apimachinery.pkg.apis.meta.v1';
  if (mod === 'api/resource') return 'io.k8s.apimachinery.pkg.api.resource';
  if (mod === 'runtime') return 'io.k8s.apimachinery.pkg.runtime';
  if (mod === 'version') return 'io.k8s.apimachinery.pkg.version';
  if (mod.startsWith('apiextensions/')) return `io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.${mod.split('/')[1]}`;
  return `io.k8s.api.${mod.replace('/', '.')}`;
}
const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';

const modules = [];
for (const entry of fs.readdirSync(typesDir, { withFileTypes: true })) {
  if (entry.isFile() && entry.name.endsWith('.d.ts')) modules.push(entry.name.slice(0, -5));
  if (entry.isDirectory()) {
    for (const f of fs.readdirSync(path.join(typesDir, entry.name))) {
      if (f.endsWith('.d.ts')) modules.push(`${entry.name}/${f.slice(0, -5)}`);
    }
  }
}
modules.sort();

// ---------------------------------------------------------------------------
// Integer formats. kubernetes-types says only `number`; the generated models of
// @kubernetes/client-node keep upstream's int32/int64/double/byte/date-time formats.
const formatsByClass = new Map(); // 'V1PodSpec' -> Map(field -> format)
const formatsByField = new Map(); // field -> Map(format -> count)
{
  const modelsDir = path.join(repo, 'node_modules/@kubernetes/client-node/dist/gen/models');
  const attrRe = /"baseName":\s*"([^"]+)",\s*"type":\s*"[^"]*",\s*"format":\s*"([^"]*)"/g;
  if (fs.existsSync(modelsDir)) {
    for (const f of fs.readdirSync(modelsDir)) {
      if (!f.endsWith('.js')) continue;
      const text = fs.readFileSync(path.join(modelsDir, f), 'utf8');
      const fields = new Map();
      for (const m of text.matchAll(attrRe)) {
        if (!m[2]) continue;
        fields.set(m[1], m[2]);
        let counts = formatsByField.get(m[1]);
        if (!counts) formatsByField.set(m[1], (counts = new Map()));
        counts.set(m[2], (counts.get(m[2]) ?? 0) + 1);
      }
      formatsByClass.set(f.slice(0, -3), fields);
    }
  } else {
    console.warn('warning: @kubernetes/client-node not installed; integer formats are guessed');
  }
}
const cap = (s) => s.charAt(0).toUpperCase() + s.slice(1);
function formatOf(mod, typeName, field) {
  const [g, v] = mod.split('/');
  for (const cls of [`${cap(v ?? '')}${typeName}`, `${cap(g)}${cap(v ?? '')}${typeName}`]) {
    const f = formatsByClass.get(cls)?.get(field);
    if (f) return f;
  }
  const counts = formatsByField.get(field);
  if (counts) return [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0];
  return undefined;
}

// ---------------------------------------------------------------------------
// Patch metadata (upstream's patchStrategy/patchMergeKey struct tags and
// +listType/+listMapKey markers), declared by hand: kubernetes-types drops them.
// Values: [mergeKey | null, patchStrategy | null, listType | null, listMapKeys?]
const M = (key, listMapKeys = [key]) => [key, 'merge', 'map', listMapKeys];
const conditions = M('type');
/** the same list fields in Container and EphemeralContainer */
const containerLists = {
  ports: ['containerPort', 'merge', 'map', ['containerPort', 'protocol']],
  env: M('name'),
  volumeMounts: M('mountPath'),
  volumeDevices: M('devicePath'),
  command: [null, null, 'atomic'],
  args: [null, null, 'atomic'],
  envFrom: [null, null, 'atomic'],
  resizePolicy: [null, null, 'atomic'],
};
const patchMeta = {
  'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta': {
    finalizers: [null, 'merge', 'set'],
    ownerReferences: M('uid'),
    managedFields: [null, null, 'atomic'],
  },
  'io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector': { matchExpressions: [null, null, 'atomic'] },
  'io.k8s.api.core.v1.PodSpec': {
    volumes: ['name', 'merge,retainKeys', 'map', ['name']],
    initContainers: M('name'),
    containers: M('name'),
    ephemeralContainers: M('name'),
    imagePullSecrets: M('name'),
    hostAliases: M('ip'),
    tolerations: [null, null, 'atomic'],
    readinessGates: [null, null, 'atomic'],
    topologySpreadConstraints: ['topologyKey', 'merge', 'map', ['topologyKey', 'whenUnsatisfiable']],
    resourceClaims: ['name', 'merge,retainKeys', 'map', ['name']],
    schedulingGates: M('name'),
  },
  'io.k8s.api.core.v1.Container': containerLists,
  'io.k8s.api.core.v1.EphemeralContainer': containerLists,
  'io.k8s.api.core.v1.PodStatus': {
    conditions,
    podIPs: ['ip', 'merge', 'map', ['ip']],
    hostIPs: ['ip', 'merge', 'atomic'],
    resourceClaimStatuses: ['name', 'merge,retainKeys', 'map', ['name']],
  },
  'io.k8s.api.core.v1.NodeSpec': { podCIDRs: [null, 'merge', 'set'], taints: [null, null, 'atomic'] },
  'io.k8s.api.core.v1.NodeStatus': { conditions, addresses: M('type') },
  'io.k8s.api.core.v1.ServiceSpec': {
    ports: ['port', 'merge', 'map', ['port', 'protocol']],
    clusterIPs: [null, null, 'atomic'],
    externalIPs: [null, null, 'atomic'],
    ipFamilies: [null, null, 'atomic'],
    loadBalancerSourceRanges: [null, null, 'atomic'],
  },
  'io.k8s.api.core.v1.ServiceStatus': { conditions },
  'io.k8s.api.core.v1.ServiceAccount': { secrets: M('name'), imagePullSecrets: [null, null, 'atomic'] },
  'io.k8s.api.core.v1.PersistentVolumeClaimStatus': { conditions },
  'io.k8s.api.core.v1.NamespaceStatus': { conditions },
  'io.k8s.api.core.v1.ReplicationControllerStatus': { conditions },
  'io.k8s.api.core.v1.ComponentStatus': { conditions },
  'io.k8s.api.core.v1.EndpointSubset': { addresses: [null, null, 'atomic'], ports: [null, null, 'atomic'] },
  'io.k8s.api.core.v1.Endpoints': { subsets: [null, null, 'atomic'] },
  'io.k8s.api.core.v1.NodeSelectorTerm': { matchExpressions: [null, null, 'atomic'], matchFields: [null, null, 'atomic'] },
  'io.k8s.api.apps.v1.DeploymentSpec': { strategy: [null, 'retainKeys'] },
  'io.k8s.api.apps.v1.DeploymentStatus': { conditions },
  'io.k8s.api.apps.v1.StatefulSetStatus': { conditions },
  'io.k8s.api.apps.v1.StatefulSetSpec': { volumeClaimTemplates: [null, null, 'atomic'] },
  'io.k8s.api.apps.v1.DaemonSetStatus': { conditions },
  'io.k8s.api.apps.v1.ReplicaSetStatus': { conditions },
  'io.k8s.api.batch.v1.JobStatus': { conditions: ['type', 'merge', 'atomic'] },
  'io.k8s.api.batch.v1.CronJobStatus': { active: [null, null, 'atomic'] },
  'io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus': { conditions },
  'io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerSpec': { metrics: [null, null, 'atomic'] },
  'io.k8s.api.policy.v1.PodDisruptionBudgetStatus': { conditions },
  'io.k8s.api.certificates.v1.CertificateSigningRequestStatus': { conditions: [null, null, 'map', ['type']] },
  'io.k8s.api.networking.v1.IngressSpec': { rules: [null, null, 'atomic'], tls: [null, null, 'atomic'] },
  'io.k8s.api.networking.v1.NetworkPolicySpec': { ingress: [null, null, 'atomic'], egress: [null, null, 'atomic'], policyTypes: [null, null, 'atomic'] },
  'io.k8s.api.discovery.v1.EndpointSlice': { endpoints: [null, null, 'atomic'], ports: [null, null, 'atomic'] },
  'io.k8s.api.rbac.v1.Role': { rules: [null, null, 'atomic'] },
  'io.k8s.api.rbac.v1.ClusterRole': { rules: [null, null, 'atomic'] },
  'io.k8s.api.rbac.v1.RoleBinding': { subjects: [null, null, 'atomic'] },
  'io.k8s.api.rbac.v1.ClusterRoleBinding': { subjects: [null, null, 'atomic'] },
  'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionStatus': { conditions: [null, null, 'map', ['type']] },
  'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionSpec': { versions: [null, null, 'atomic'] },
};

// Upstream JSONSchemaProps carries the x-kubernetes-* vendor fields, which
// kubernetes-types leaves out; add them so CRD schemas pass strict validation.
const JSP = 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps';
const jspExtensions = {
  'x-kubernetes-embedded-resource': { type: 'boolean', description: 'x-kubernetes-embedded-resource defines that the value is an embedded Kubernetes runtime.Object, with TypeMeta and ObjectMeta. The type must be object. It is allowed to further restrict the embedded object. kind, apiVersion and metadata are validated automatically. x-kubernetes-preserve-unknown-fields is allowed to be true, but does not have to be if the object is fully specified (up to kind, apiVersion, metadata).' },
  'x-kubernetes-int-or-string': { type: 'boolean', description: 'x-kubernetes-int-or-string specifies that this value is either an integer or a string. If this is true, an empty type is allowed and type as child of anyOf is permitted if following one of the following patterns:\n\n1) anyOf:\n   - type: integer\n   - type: string\n2) allOf:\n   - anyOf:\n     - type: integer\n     - type: string\n   - ... zero or more' },
  'x-kubernetes-list-map-keys': { type: 'array', items: { type: 'string', default: '' }, 'x-kubernetes-list-type': 'atomic', description: 'x-kubernetes-list-map-keys annotates an array with the x-kubernetes-list-type `map` by specifying the keys used as the index of the map.\n\nThis tag MUST only be used on lists that have the "x-kubernetes-list-type" extension set to "map". Also, the values specified for this attribute must be a scalar typed field of the child structure (no nesting is supported).\n\nThe properties specified must either be required or have a default value, to ensure those properties are present for all list items.' },
  'x-kubernetes-list-type': { type: 'string', description: 'x-kubernetes-list-type annotates an array to further describe its topology. This extension must only be used on lists and may have 3 possible values:\n\n1) `atomic`: the list is treated as a single entity, like a scalar.\n     Atomic lists will be entirely replaced when updated. This extension\n     may be used on any type of list (struct, scalar, ...).\n2) `set`:\n     Sets are lists that must not have multiple items with the same value. Each\n     value must be a scalar, an object with x-kubernetes-map-type `atomic` or an\n     array with x-kubernetes-list-type `atomic`.\n3) `map`:\n     These lists are like maps in that their elements have a non-index key\n     used to identify them. Order is preserved upon merge. The map tag\n     must only be used on a list with elements of type object.\nDefaults to atomic for arrays.' },
  'x-kubernetes-map-type': { type: 'string', description: 'x-kubernetes-map-type annotates an object to further describe its topology. This extension must only be used when type is object and may have 2 possible values:\n\n1) `granular`:\n     These maps are actual maps (key-value pairs) and each fields are independent\n     from each other (they can each be manipulated by separate actors). This is\n     the default behaviour for all maps.\n2) `atomic`: the list is treated as a single entity, like a scalar.\n     Atomic maps will be entirely replaced when updated.' },
  'x-kubernetes-preserve-unknown-fields': { type: 'boolean', description: 'x-kubernetes-preserve-unknown-fields stops the API server decoding step from pruning fields which are not specified in the validation schema. This affects fields recursively, but switches back to normal pruning behaviour if nested properties or additionalProperties are specified in the schema. This can either be true or undefined. False is forbidden.' },
  'x-kubernetes-validations': { type: 'array', items: { $ref: '#/definitions/io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.ValidationRule' }, 'x-kubernetes-list-map-keys': ['rule'], 'x-kubernetes-list-type': 'map', 'x-kubernetes-patch-merge-key': 'rule', 'x-kubernetes-patch-strategy': 'merge', description: 'x-kubernetes-validations describes a list of validation rules written in the CEL expression language.' },
};

// ---------------------------------------------------------------------------
const config = {
  ...DEFAULT_CONFIG,
  expose: 'export',
  topRef: true, // root types become definitions too (Lists are referenced by nothing)
  jsDoc: 'extended',
  additionalProperties: true, // open objects: no `additionalProperties: false`
  skipTypeCheck: true,
  sortProps: true,
};
const files = modules.map((m) => path.join(typesDir, `${m}.d.ts`));
const program = ts.createProgram(files, { noEmit: true, strictNullChecks: true, skipLibCheck: true });
const parser = createParser(program, config);
const formatter = createFormatter(config);
const generator = new SchemaGenerator(program, parser, formatter, config);

const definitions = {};
for (const mod of modules) {
  const sf = program.getSourceFile(path.join(typesDir, `${mod}.d.ts`));
  if (!sf) throw new Error(`cannot load ${mod}`);
  const local = new Set();
  const imported = new Map(); // local name -> module
  for (const st of sf.statements) {
    if ((ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st)) && st.name) local.add(st.name.text);
    if (ts.isImportDeclaration(st) && st.importClause?.namedBindings && ts.isNamedImports(st.importClause.namedBindings)) {
      const from = path.posix.normalize(path.posix.join(path.posix.dirname(mod), st.moduleSpecifier.text));
      for (const el of st.importClause.namedBindings.elements) imported.set(el.name.text, from);
    }
  }
  const nodes = sf.statements.filter((s) => ts.isInterfaceDeclaration(s) || ts.isTypeAliasDeclaration(s));
  if (nodes.length === 0) continue;
  const schema = generator.createSchemaFromNodes(nodes);
  const refName = (name) => {
    if (local.has(name)) return `${prefixOf(mod)}.${name}`;
    const from = imported.get(name);
    if (from) return `${prefixOf(from)}.${name}`;
    throw new Error(`${mod}: unresolved reference ${name}`);
  };
  for (const name of local) {
    const def = schema.definitions[name];
    if (!def) throw new Error(`${mod}: no schema for ${name}`);
    definitions[`${prefixOf(mod)}.${name}`] = convert(def, { mod, typeName: name, refName });
  }
}

// Rewrites one generated schema into upstream's shape.
function convert(s, ctx, field) {
  if (Array.isArray(s)) return s.map((x) => convert(x, ctx, field));
  if (!s || typeof s !== 'object') return s;
  const out = {};
  const type = s.type;
  // `number | string` is IntOrString upstream.
  if (Array.isArray(type) && type.length === 2 && type.includes('number') && type.includes('string')) {
    return { $ref: `#/definitions/${INT_OR_STRING}`, ...(s.description ? { description: s.description } : {}) };
  }
  for (const [k, v] of Object.entries(s)) {
    if (k === 'const') continue; // apiVersion/kind literals: upstream types them as plain strings
    if (k === '$ref') {
      out.$ref = `#/definitions/${ctx.refName(decodeURIComponent(v.replace('#/definitions/', '')))}`;
    } else if (k === 'properties') {
      out.properties = {};
      for (const [p, ps] of Object.entries(v)) out.properties[p] = convert(ps, ctx, p);
    } else if (k === 'items' || k === 'additionalProperties') {
      out[k] = typeof v === 'object' ? convert(v, ctx, field) : v;
    } else if (k === 'anyOf' || k === 'allOf' || k === 'oneOf') {
      out[k] = v.map((x) => convert(x, ctx, field));
    } else {
      out[k] = v;
    }
  }
  if (type === 'number') {
    const f = field ? formatOf(ctx.mod, ctx.typeName, field) : undefined;
    if (f === 'double') {
      out.format = 'double';
    } else {
      out.type = 'integer';
      out.format = f === 'int64' ? 'int64' : 'int32';
    }
  } else if (type === 'string' && field) {
    const f = formatOf(ctx.mod, ctx.typeName, field);
    if (f === 'byte') out.format = 'byte';
  }
  return orderKeys(out);
}

// Upstream writes keys alphabetically with description first-ish; we sort for stable diffs.
function orderKeys(o) {
  const r = {};
  for (const k of Object.keys(o).sort()) r[k] = o[k];
  return r;
}

// ---------------------------------------------------------------------------
// Fix-ups where the TypeScript form loses upstream's meaning.
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
definitions[INT_OR_STRING] = {
  description: 'IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML marshalling and unmarshalling, it produces or consumes the inner type.  This allows you to have, for example, a JSON field that can accept a name or number.',
  format: 'int-or-string',
  type: 'string',
};
for (const t of ['Time', 'MicroTime']) {
  definitions[`${META}.${t}`] = { ...definitions[`${META}.${t}`], format: 'date-time', type: 'string' };
}
for (const t of [`${META}.FieldsV1`, `${META}.Patch`, 'io.k8s.apimachinery.pkg.runtime.RawExtension']) {
  definitions[t] = { description: definitions[t].description, type: 'object' };
}
// Secret.data / ConfigMap.binaryData values are base64.
for (const [def, prop] of [['io.k8s.api.core.v1.Secret', 'data'], ['io.k8s.api.core.v1.ConfigMap', 'binaryData']]) {
  definitions[def].properties[prop].additionalProperties.format = 'byte';
}
// apiextensions JSON and the "Or" unions: upstream gives only a description (any JSON value).
const AX = 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1';
for (const t of ['JSON', 'JSONSchemaPropsOrArray', 'JSONSchemaPropsOrBool', 'JSONSchemaPropsOrStringArray']) {
  definitions[`${AX}.${t}`] = { description: definitions[`${AX}.${t}`].description };
}
for (const k of ['maximum', 'minimum', 'multipleOf']) {
  definitions[JSP].properties[k] = { ...definitions[JSP].properties[k], type: 'number', format: 'double' };
}
Object.assign(definitions[JSP].properties, jspExtensions);
definitions[JSP].properties = orderKeys(definitions[JSP].properties);

// Second pass over the declarations: descriptions with their line breaks kept
// (the generator's JSDoc reader folds them) and GVK extensions for kinds, i.e.
// interfaces whose apiVersion and kind are string literals.
const jsDocText = (node) => {
  const docs = node.jsDoc;
  if (!docs?.length) return undefined;
  const c = docs[docs.length - 1].comment;
  if (c === undefined) return undefined;
  return typeof c === 'string' ? c : c.map((part) => part.text).join('');
};
const literalOf = (member) =>
  member?.type && ts.isLiteralTypeNode(member.type) && ts.isStringLiteral(member.type.literal) ? member.type.literal.text : undefined;
for (const mod of modules) {
  const sf = program.getSourceFile(path.join(typesDir, `${mod}.d.ts`));
  for (const st of sf.statements) {
    if (!ts.isInterfaceDeclaration(st) && !ts.isTypeAliasDeclaration(st)) continue;
    const def = definitions[`${prefixOf(mod)}.${st.name.text}`];
    if (!def) continue;
    const d = jsDocText(st);
    if (d !== undefined) def.description = d;
    if (!ts.isInterfaceDeclaration(st)) continue;
    const members = new Map();
    for (const m of st.members) {
      if (!ts.isPropertySignature(m) || !m.name) continue;
      const name = ts.isIdentifier(m.name) || ts.isStringLiteral(m.name) ? m.name.text : undefined;
      if (!name) continue;
      members.set(name, m);
      const pd = jsDocText(m);
      const prop = def.properties?.[name];
      if (pd !== undefined && prop && typeof prop === 'object') prop.description = pd;
    }
    const apiVersion = literalOf(members.get('apiVersion'));
    const kind = literalOf(members.get('kind'));
    if (apiVersion && kind) {
      const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
      def['x-kubernetes-group-version-kind'] = [{ group, kind, version }];
    }
  }
}
// meta types that every group-version serves (DeleteOptions, Status, WatchEvent):
// the builders add their per-group GVKs; here only meta.k8s.io.
for (const [t, kind] of [['DeleteOptions', 'DeleteOptions'], ['Status', 'Status'], ['WatchEvent', 'WatchEvent'], ['APIResourceList', 'APIResourceList']]) {
  const def = definitions[`${META}.${t}`];
  if (def && !def['x-kubernetes-group-version-kind']) def['x-kubernetes-group-version-kind'] = [{ group: 'meta.k8s.io', kind, version: 'v1' }];
}

// Patch metadata.
for (const [defName, props] of Object.entries(patchMeta)) {
  const def = definitions[defName];
  if (!def) throw new Error(`patch table names unknown definition ${defName}`);
  for (const [prop, [mergeKey, strategy, listType, mapKeys]] of Object.entries(props)) {
    const p = def.properties?.[prop];
    if (!p) throw new Error(`patch table names unknown field ${defName}.${prop}`);
    if (mapKeys && listType === 'map') p['x-kubernetes-list-map-keys'] = mapKeys;
    if (listType) p['x-kubernetes-list-type'] = listType;
    if (mergeKey) p['x-kubernetes-patch-merge-key'] = mergeKey;
    if (strategy) p['x-kubernetes-patch-strategy'] = strategy;
    def.properties[prop] = orderKeys(p);
  }
}
// Upstream marks these small structs atomic.
for (const t of ['io.k8s.api.core.v1.LocalObjectReference', 'io.k8s.api.core.v1.ObjectReference', 'io.k8s.api.core.v1.NodeSelector',
  'io.k8s.api.core.v1.ConfigMapKeySelector', 'io.k8s.api.core.v1.SecretKeySelector', 'io.k8s.api.core.v1.ObjectFieldSelector',
  'io.k8s.api.core.v1.ResourceFieldSelector', `${META}.LabelSelector`, 'io.k8s.api.core.v1.TypedLocalObjectReference']) {
  if (definitions[t]) definitions[t]['x-kubernetes-map-type'] = 'atomic';
}

// Every ref must resolve.
const sorted = {};
for (const k of Object.keys(definitions).sort()) sorted[k] = orderKeys(definitions[k]);
const missing = new Set();
JSON.stringify(sorted, (k, v) => {
  if (k === '$ref' && typeof v === 'string' && !sorted[v.replace('#/definitions/', '')]) missing.add(v);
  return v;
});
if (missing.size) throw new Error(`unresolved refs: ${[...missing].join(', ')}`);

fs.mkdirSync(path.dirname(outFile), { recursive: true });
fs.writeFileSync(outFile, JSON.stringify(sorted) + '\n');
console.log(`wrote ${path.relative(repo, outFile)}: ${Object.keys(sorted).length} definitions, ${fs.statSync(outFile).size} bytes, ${Date.now() - t0} ms`);
