/**
 * What the gate's tools share: a finding, running a tool, and the objects of synthesized manifest files, one by one, with the policy exceptions their
 * `stackport.dev/policy-exceptions` annotation names. Trivy and Kyverno read exceptions from files
 * of their own, not from annotations; trivy.ts and kyverno.ts build those from this.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { POLICY_EXCEPTIONS, type PolicyException } from '../../charts/policy';

export interface Finding {
  readonly tool: string;
  readonly env: string;
  readonly object: string;
  readonly check: string;
  readonly message: string;
  /** The manifest file the object came from. */
  readonly file?: string;
}

/** Runs a tool with the policy environment added; its exit status is the caller's to judge. */
export function run(cmd: string, args: string[], env: Record<string, string>, cwd?: string): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

export interface ManifestObject {
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
  readonly file: string;
  /** The object as YAML, on its own. */
  readonly text: string;
  /** The exceptions its annotation names. */
  readonly exceptions: readonly PolicyException[];
}

export const EXCEPTIONS_ANNOTATION = 'stackport.dev/policy-exceptions';

export function readObjects(files: readonly string[]): ManifestObject[] {
  return files.flatMap((file) =>
    parseAllDocuments(readFileSync(file, 'utf8')).flatMap((doc) => {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0].message}`);
      const obj = doc.toJS();
      if (obj == null) return [];
      const ids = String(obj.metadata?.annotations?.[EXCEPTIONS_ANNOTATION] ?? '').split(',').filter(Boolean);
      const exceptions = ids.map((id) => {
        const e = POLICY_EXCEPTIONS.find((x) => x.id === id);
        if (!e) throw new Error(`${file}: ${obj.kind}/${obj.metadata?.name}: ${EXCEPTIONS_ANNOTATION} names "${id}", which is not one of ${POLICY_EXCEPTIONS.map((x) => x.id).join(', ')}`);
        return e;
      });
      return [{ kind: String(obj.kind), name: String(obj.metadata?.name), namespace: obj.metadata?.namespace, file, text: doc.toString(), exceptions }];
    }),
  );
}

/** kind/name, as the table and findings print it. */
export const objectLabel = (o: { kind: string; name: string }): string => `${o.kind}/${o.name}`;
