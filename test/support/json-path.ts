/** JSON paths for validation messages, shared by the Kubernetes and CRD schema checks. */
import type { ErrorObject } from 'ajv';

/** Appends a key to a JSON path, quoting keys such as `app.kubernetes.io/name`. */
export function child(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  const seg = /^[A-Za-z_$][\w$-]*$/.test(key) ? key : `[${JSON.stringify(key)}]`;
  if (path === '') return seg;
  return seg.startsWith('[') ? `${path}${seg}` : `${path}.${seg}`;
}

/** `/spec/endpoints/0/port` -> `spec.endpoints[0].port` */
export function pointerToPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<string>((p, s) => child(p, /^\d+$/.test(s) ? Number(s) : s), '');
}

/** One line per problem; the per-branch noise of int-or-string `anyOf` is merged. */
export function formatAjvErrors(errors: ErrorObject[]): string[] {
  const byPath = new Map<string, ErrorObject[]>();
  for (const e of errors) byPath.set(e.instancePath, [...(byPath.get(e.instancePath) ?? []), e]);
  const out: string[] = [];
  for (const [pointer, errs] of byPath) {
    const path = pointerToPath(pointer);
    const union = errs.some((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf');
    const types = errs.filter((e) => e.keyword === 'type').map((e) => String(e.params.type));
    if (union && types.length > 0) {
      out.push(`${path || '(root)'}: must be ${types.join(' or ')}`);
      continue;
    }
    for (const e of errs) {
      if (e.keyword === 'additionalProperties') {
        out.push(`${child(path, String(e.params.additionalProperty))}: unknown field`);
      } else if (e.keyword === 'required') {
        out.push(`${child(path, String(e.params.missingProperty))}: required field is missing`);
      } else if (e.keyword === 'enum') {
        out.push(`${path || '(root)'}: must be one of ${JSON.stringify(e.params.allowedValues)}`);
      } else {
        out.push(`${path || '(root)'}: ${e.message ?? e.keyword}`);
      }
    }
  }
  return [...new Set(out)];
}
