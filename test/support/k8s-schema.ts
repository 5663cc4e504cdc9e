/**
 * Schema validation of synthesized manifests against the real Kubernetes API
 * schema, strict like `kubectl apply --validate=strict`.
 *
 * Two generated, upstream-derived sources are combined because neither is
 * enough on its own:
 *  - `kubernetes-models` (ajv validators compiled from the Kubernetes OpenAPI
 *    spec) checks types, formats, enums and required fields, but accepts
 *    unknown fields;
 *  - `@kubernetes/client-node` model classes (generated from the OpenAPI spec,
 *    release-1.34, the newest that runs on Node 20) carry `attributeTypeMap`, the exact set of JSON keys of
 *    every schema, which we walk to reject unknown fields.
 * Nothing here is a hand-written schema.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { ErrorObject } from 'ajv';
import { child, formatAjvErrors } from './json-path';
import * as clientModels from '@kubernetes/client-node/dist/gen/models/all.js';

interface Attribute {
  name: string;
  baseName: string; // the JSON key; `name` is a JS-safe alias (`_from`, `_default`)
  type: string;
  format: string;
}
interface ModelClass {
  attributeTypeMap: Attribute[];
}
interface KmClass {
  new (data: unknown): { validate(): void };
  apiVersion?: string;
  kind?: string;
}

const models = clientModels as unknown as Record<string, ModelClass | undefined>;

// kubernetes-models is ESM-only and its `exports` map has only an `import`
// condition, so a plain require('kubernetes-models/...') cannot resolve. We
// locate the package directory with Node's own lookup paths and require the
// file by absolute path (Node >= 20.19 can require() ESM synchronously), which
// keeps validateK8sObject synchronous for callers.
const req = createRequire(__filename);
function packageDir(name: string): string {
  for (const base of req.resolve.paths(name) ?? []) {
    if (existsSync(join(base, name, 'package.json'))) return join(base, name);
  }
  throw new Error(`cannot find package ${name}; run npm install`);
}
let kmDir: string | undefined;

const GROUP = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/;
const VERSION = /^v[0-9]+((alpha|beta)[0-9]+)?$/;
const KIND = /^[A-Z][A-Za-z0-9]*$/;

function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.lastIndexOf('/');
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

const kmCache = new Map<string, KmClass | null>();
/** The kubernetes-models class for a top-level resource, or null if none. */
function kmClass(apiVersion: string, kind: string): KmClass | null {
  const key = `${apiVersion}/${kind}`;
  if (kmCache.has(key)) return kmCache.get(key)!;
  let found: KmClass | null = null;
  const { group, version } = splitApiVersion(apiVersion);
  // The regexes also keep apiVersion/kind from escaping the package directory.
  if ((group === '' || GROUP.test(group)) && VERSION.test(version) && KIND.test(kind)) {
    kmDir ??= packageDir('kubernetes-models');
    const file = join(kmDir, group === '' ? version : join(group, version), `${kind}.js`);
    if (existsSync(file)) {
      const cls = (req(file) as Record<string, KmClass | undefined>)[kind];
      // Sub-schemas (e.g. apps/v1/DeploymentSpec) are files too; only accept real resources.
      if (cls && cls.apiVersion === apiVersion && cls.kind === kind) found = cls;
    }
  }
  kmCache.set(key, found);
  return found;
}

/**
 * The client-node root model. Its generator names models `V1Deployment`, and
 * prefixes the group only where two groups share version+kind (`CoreV1Event`
 * vs `EventsV1Event`), so try the prefixed name first.
 */
function rootModelName(apiVersion: string, kind: string): string | undefined {
  const { group, version } = splitApiVersion(apiVersion);
  const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
  const ver = cap(version);
  const prefixed = `${cap(group === '' ? 'core' : group.split('.')[0])}${ver}${kind}`;
  return [prefixed, `${ver}${kind}`].find((n) => models[n]?.attributeTypeMap?.some((a) => a.baseName === 'kind'));
}

/** True if apiVersion/kind is a built-in resource known to both schema sources. */
export function isBuiltInKind(apiVersion: string, kind: string): boolean {
  return kmClass(apiVersion, kind) !== null && rootModelName(apiVersion, kind) !== undefined;
}


function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Walks `value` against a client-node type string and reports keys that the
 * schema does not define. Only structure is checked here: primitives,
 * IntOrString, Quantity (typed `string` by client-node), Date and `any` are
 * leaves, and a value of the wrong shape is left to kubernetes-models' type
 * errors so that each problem is reported once.
 */
function unknownFields(value: unknown, type: string, path: string, out: string[]): void {
  if (value === null || value === undefined) return;
  const arr = /^Array<(.+)>$/.exec(type);
  if (arr) {
    if (Array.isArray(value)) value.forEach((v, i) => unknownFields(v, arr[1], child(path, i), out));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (isPlainObject(value)) for (const [k, v] of Object.entries(value)) unknownFields(v, map[1], child(path, k), out);
    return;
  }
  const model = models[type];
  // V1MicroTime has no class (it is a string) and primitives have none either.
  if (!model?.attributeTypeMap || !isPlainObject(value)) return;
  const attrs = new Map(model.attributeTypeMap.map((a) => [a.baseName, a] as const));
  for (const [k, v] of Object.entries(value)) {
    const attr = attrs.get(k);
    if (!attr) out.push(`${child(path, k)}: unknown field`);
    else unknownFields(v, attr.type, child(path, k), out);
  }
}

/** Errors for one manifest object (empty when valid). Paths are relative to the object. */
export function validateK8sObject(obj: any): string[] {
  if (!isPlainObject(obj)) return ['(root): manifest must be an object'];
  const { apiVersion, kind } = obj;
  if (typeof apiVersion !== 'string' || apiVersion === '') return ['apiVersion: required field is missing'];
  if (typeof kind !== 'string' || kind === '') return ['kind: required field is missing'];
  const cls = kmClass(apiVersion, kind);
  const root = rootModelName(apiVersion, kind);
  if (!cls || !root) {
    // CRDs and typos alike land here: never skip silently.
    return [`kind: unknown apiVersion/kind ${apiVersion}/${kind} (not a built-in Kubernetes resource)`];
  }
  const errors: string[] = [];
  try {
    new cls(obj).validate();
  } catch (e) {
    const ajv = (e as { errors?: unknown }).errors;
    if (Array.isArray(ajv)) errors.push(...formatAjvErrors(ajv as ErrorObject[]));
    else errors.push(`(root): ${(e as Error).message}`);
  }
  unknownFields(obj, root, '', errors);
  return errors;
}

/** Errors for many objects, each prefixed with `Kind/name:`. */
export function validateAll(objs: any[]): string[] {
  return objs.flatMap((o) => {
    const ref = `${o?.kind ?? '?'}/${o?.metadata?.name ?? '?'}`;
    return validateK8sObject(o).map((e) => `${ref}: ${e}`);
  });
}
