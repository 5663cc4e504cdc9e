/**
 * `kyverno apply` in the gate: Pod Security "restricted" (Kyverno's built-in podSecurity rule) and
 * the library policies vendored in scripts/policy/kyverno/library, from files, with no cluster.
 *
 * Kyverno reads no suppression annotation. An object whose `stackport.dev/policy-exceptions` names
 * an exception with Kyverno rules gets a PolicyException matching that object alone (kind, name,
 * namespace), for those rules and the ones Kyverno generates from them for pod controllers.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { type Finding, type ManifestObject, objectLabel, readObjects, run } from './objects';

/** The policies and the report format: one JSON report on stdout. */
export const KYVERNO_ARGS = (policies: string): string[] => ['apply', policies, '--policy-report', '--output-format', 'json', '--remove-color'];

/** PolicyExceptions for the objects whose annotation asks for them; undefined when none does. */
export function policyExceptions(objects: readonly ManifestObject[]): string | undefined {
  const docs = objects.flatMap((o, i) => {
    const rules = o.exceptions.flatMap((e) => e.kyverno);
    if (rules.length === 0) return [];
    const byPolicy = new Map<string, string[]>();
    for (const r of rules) {
      const [policy, rule] = r.split('/');
      // Rules on Pods also run on pod controllers under the names Kyverno's autogen gives them.
      byPolicy.set(policy, [...(byPolicy.get(policy) ?? []), rule, `autogen-${rule}`, `autogen-cronjob-${rule}`]);
    }
    return [{
      apiVersion: 'kyverno.io/v2',
      kind: 'PolicyException',
      metadata: { name: `stackport-${i}-${o.name}`.slice(0, 63), namespace: o.namespace ?? 'default', annotations: { 'stackport.dev/policy-exceptions': o.exceptions.filter((e) => e.kyverno.length > 0).map((e) => e.id).join(',') } },
      spec: {
        exceptions: [...byPolicy].map(([policyName, ruleNames]) => ({ policyName, ruleNames })),
        match: { any: [{ resources: { kinds: [o.kind], names: [o.name], ...(o.namespace ? { namespaces: [o.namespace] } : {}) } }] },
      },
    }];
  });
  return docs.length === 0 ? undefined : docs.map((d) => stringify(d)).join('---\n');
}

const identity = (o: { kind: string; namespace?: string; name: string }): string => `${o.kind}/${o.namespace ?? ''}/${o.name}`;

/**
 * Files grouped so that no object appears twice in a group: kyverno apply loads every resource of
 * a run into one fake cluster and panics on a duplicate (v1.19.1), as two environments of one
 * stack would be. One run per group instead of one per file.
 */
function groups(files: readonly string[]): { files: string[]; objects: Map<string, ManifestObject> }[] {
  const out: { files: string[]; objects: Map<string, ManifestObject> }[] = [];
  for (const file of files) {
    const objects = readObjects([file]);
    let g = out.find((x) => objects.every((o) => !x.objects.has(identity(o))));
    if (!g) out.push((g = { files: [], objects: new Map() }));
    g.files.push(file);
    for (const o of objects) g.objects.set(identity(o), o);
  }
  return out;
}

export function kyvernoFindings(files: string[], env: string, penv: Record<string, string>): Finding[] {
  const tmp = mkdtempSync(join(tmpdir(), 'stackport-kyverno-'));
  try {
    return groups(files).flatMap((g) => {
      const args = [...KYVERNO_ARGS(penv.STACKPORT_KYVERNO_POLICIES), ...g.files.flatMap((f) => ['--resource', f])];
      const exceptions = policyExceptions([...g.objects.values()]);
      if (exceptions) {
        writeFileSync(join(tmp, 'exceptions.yaml'), exceptions);
        args.push('--exceptions', join(tmp, 'exceptions.yaml'));
      }
      const r = run(penv.STACKPORT_KYVERNO, args, penv);
      // Deprecation warnings come first on stdout; the report is the JSON line.
      const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
      if (!line) throw new Error(`kyverno apply exited ${r.status} without a report for ${g.files.join(' ')}: ${(r.stderr || r.stdout).slice(0, 2000)}`);
      const report = JSON.parse(line);
      return (report.results ?? [])
        .filter((x: any) => x.result === 'fail' || x.result === 'error' || x.result === 'warn')
        .flatMap((x: any) =>
          (x.resources ?? []).map((res: any) => {
            const o = g.objects.get(identity(res));
            if (!o) throw new Error(`kyverno reported ${res.kind}/${res.name}, which none of ${g.files.join(' ')} holds`);
            return { tool: 'kyverno', env, object: objectLabel(o), check: `${x.policy}/${x.rule}`, message: `${x.result}: ${x.message}`, file: o.file };
          }),
        );
    });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
