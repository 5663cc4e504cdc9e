/**
 * The add-on versions the manifests are validated against, pinned once in scripts/crd-versions.env
 * (scripts/crds.sh reads the same file to vendor crds/), and the vendored CRD files. Read at run time
 * from the package root so a version bump needs no code change.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../model/package-files';
import { OpsError } from './exec';

export const VERSIONS_FILE = 'scripts/crd-versions.env';

export type PinnedName = 'CERT_MANAGER_VERSION' | 'GATEWAY_API_VERSION' | 'PROMETHEUS_OPERATOR_VERSION' | 'CLOUD_PROVIDER_KIND_VERSION';

/** `KEY=VALUE` lines of the versions file; comments and blank lines are skipped. */
export function parseVersionsFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Z][A-Z0-9_]*)=([^\s#]+)/.exec(line);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

/** One pinned version; an OpsError naming the file and the key when it is not there. */
export function pinnedVersion(name: PinnedName, root: string = packageRoot()): string {
  const file = join(root, VERSIONS_FILE);
  if (!existsSync(file)) throw new OpsError(`${file} is missing: stackport reads the pinned add-on versions from it`);
  const value = parseVersionsFile(readFileSync(file, 'utf8'))[name];
  if (!value) throw new OpsError(`${file}: ${name} is not set (expected a line such as ${name}=v1.2.3)`);
  return value;
}

/** A vendored CRD file under crds/; an OpsError naming it when it is missing. */
export function crdFile(group: string, root: string = packageRoot()): string {
  const file = join(root, 'crds', `${group}.yaml`);
  if (!existsSync(file)) throw new OpsError(`${file} is missing: the ${group} CRDs are installed from it (npm run crds writes it)`);
  return file;
}
