/**
 * `trivy config` in the gate: every built-in Kubernetes check (KSV) at its default severity, with
 * the checks embedded in the binary and nothing fetched (the flags in OFFLINE).
 *
 * Trivy's only exceptions for Kubernetes files are ignore files scoped by path (its inline
 * `#trivy:ignore` comments are read for Dockerfiles only). So each object is written to a file of
 * its own, and an ignore file lists, per check, the files of the objects whose annotation names an
 * exception for it: nothing is ignored for any other object.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { type Finding, objectLabel, readObjects, run } from './objects';

/**
 * No network: --skip-check-update keeps the checks bundle embedded in the binary (else it pulls
 * one from ghcr.io), --skip-version-check and --disable-telemetry stop its two calls home.
 * --misconfig-scanners kubernetes: only the Kubernetes checks, on YAML files.
 */
export const TRIVY_OFFLINE = ['--skip-check-update', '--skip-version-check', '--disable-telemetry', '--misconfig-scanners', 'kubernetes'];

export function trivyFindings(files: string[], env: string, penv: Record<string, string>): Finding[] {
  const objects = readObjects(files);
  const tmp = mkdtempSync(join(tmpdir(), 'stackport-trivy-'));
  try {
    const scan = join(tmp, 'objects');
    mkdirSync(scan);
    const fileOf = new Map<string, (typeof objects)[number]>();
    const ignores = new Map<string, { paths: string[]; statement: string[] }>();
    objects.forEach((o, i) => {
      const file = `${String(i).padStart(3, '0')}-${o.kind}-${o.name}.yaml`.toLowerCase();
      writeFileSync(join(scan, file), o.text);
      fileOf.set(file, o);
      for (const e of o.exceptions)
        for (const id of e.trivy) {
          const entry = ignores.get(id) ?? { paths: [], statement: [] };
          entry.paths.push(file);
          if (!entry.statement.includes(e.id)) entry.statement.push(e.id);
          ignores.set(id, entry);
        }
    });
    const ignorefile = join(tmp, 'trivyignore.yaml');
    writeFileSync(ignorefile, stringify({ misconfigurations: [...ignores].map(([id, x]) => ({ id, paths: x.paths, statement: `stackport exceptions: ${x.statement.join(', ')}` })) }));
    const args = ['config', '--quiet', '--format', 'json', ...TRIVY_OFFLINE, '--cache-dir', penv.STACKPORT_TRIVY_CACHE, '--ignorefile', ignorefile, scan];
    const r = run(penv.STACKPORT_TRIVY, args, penv);
    if (r.status !== 0) throw new Error(`trivy config exited ${r.status}: ${r.stderr.slice(0, 2000)}`);
    const report = JSON.parse(r.stdout);
    return (report.Results ?? []).flatMap((res: any) =>
      (res.Misconfigurations ?? [])
        .filter((m: any) => m.Status === 'FAIL')
        .map((m: any) => {
          const o = fileOf.get(res.Target);
          if (!o) throw new Error(`trivy reported a file it was not given: ${res.Target}`);
          return { tool: 'trivy', env, object: objectLabel(o), check: m.ID, message: `${m.Severity}: ${m.Message ?? m.Title}`, file: o.file };
        }),
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
