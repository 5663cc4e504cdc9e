import { isAbsolute, relative } from 'node:path';
import { Construct } from 'constructs';
import { SealedSecret, type SealedSecretProps } from '../imports/bitnami.com';
import { SpecError } from '../model/errors';
import type { ResolvedStack } from '../model/presets';
import { readYamlDocuments, readYamlText, YamlInputError } from '../model/read-yaml';
import { requiredSecrets } from '../model/relations';
import { MANAGED_BY } from './labels';

/** One SealedSecret of a sealed file: only its encrypted values are taken from the file. */
export interface SealedEntry {
  readonly name: string;
  readonly namespace: string;
  readonly encryptedData: Readonly<Record<string, string>>;
}

const SCOPE_ANNOTATIONS = ['sealedsecrets.bitnami.com/cluster-wide', 'sealedsecrets.bitnami.com/namespace-wide'];
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** A path as the user can find it from the working directory. */
export function shownPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** The command that writes the environment's sealed file. */
export function sealCommand(stack: ResolvedStack): string {
  const spec = stack.sealedSecrets?.specFile ? ` --spec ${stack.sealedSecrets.specFile}` : '';
  return `npm run secrets -- --env ${stack.environment}${spec} --seal --cert <cert>`;
}

/** Where the certificate comes from. */
export function fetchCertCommand(stack: ResolvedStack): string {
  const c = stack.sealedSecrets?.controller ?? { name: 'sealed-secrets-controller', namespace: 'kube-system' };
  return `kubeseal --fetch-cert --controller-name ${c.name} --controller-namespace ${c.namespace} > <cert>`;
}

/**
 * The SealedSecrets of a sealed file; undefined when the file does not exist. Anything else than
 * strict-scope SealedSecrets with string values is refused, naming the file and the document.
 */
export function readSealedFile(path: string): SealedEntry[] | undefined {
  const shown = shownPath(path);
  const fail = (message: string, location?: string): never => {
    throw new SpecError(shown, [{ path: [], ...(location ? { location } : {}), message }]);
  };
  let docs: unknown[];
  try {
    docs = readYamlDocuments(readYamlText(path));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (e instanceof YamlInputError) return fail(e.message, e.location);
    return fail(`cannot read the file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  const out: SealedEntry[] = [];
  docs.forEach((doc, i) => {
    if (doc === null || doc === undefined) return;
    const o = doc as { apiVersion?: unknown; kind?: unknown; metadata?: any; spec?: any };
    const what = `document ${i + 1}`;
    if (typeof o !== 'object' || o.kind !== 'SealedSecret' || o.apiVersion !== SealedSecret.GVK.apiVersion) {
      fail(`${what} is not a SealedSecret (expected apiVersion ${SealedSecret.GVK.apiVersion}, kind SealedSecret)`);
    }
    const name = o.metadata?.name;
    const namespace = o.metadata?.namespace;
    if (typeof name !== 'string' || typeof namespace !== 'string' || !name || !namespace) fail(`${what} has no metadata.name and metadata.namespace`);
    // Our objects are rebuilt around the values without annotations: only strict scope unseals.
    const scope = SCOPE_ANNOTATIONS.find((a) => o.metadata?.annotations?.[a] === 'true');
    if (scope) fail(`SealedSecret ${namespace}/${name} is sealed with ${scope}; only the default strict scope is supported`);
    const data = o.spec?.encryptedData;
    if (typeof data !== 'object' || data === null || Array.isArray(data)) fail(`SealedSecret ${namespace}/${name} has no spec.encryptedData mapping`);
    for (const [key, value] of Object.entries(data)) {
      if (typeof value !== 'string' || !BASE64.test(value)) fail(`SealedSecret ${namespace}/${name}: spec.encryptedData.${key} is not a base64 string`);
    }
    if (out.some((e) => e.name === name && e.namespace === namespace)) fail(`SealedSecret ${namespace}/${name} is there twice`);
    out.push({ name, namespace, encryptedData: data });
  });
  return out;
}

/** The SealedSecret of one Secret: what the sealed file holds and the output carries. */
export function sealedSecretProps(stack: ResolvedStack, name: string, encryptedData: Record<string, string>): SealedSecretProps {
  const labels = { 'app.kubernetes.io/part-of': stack.name, 'app.kubernetes.io/managed-by': MANAGED_BY };
  return {
    metadata: { name, namespace: stack.namespace, labels },
    spec: { encryptedData, template: { metadata: { name, namespace: stack.namespace, labels }, type: 'Opaque' } },
  };
}

/**
 * The encrypted values of every Secret the stack needs, from its sealed file. A missing file, Secret
 * or key, or one sealed for another namespace (it would never unseal here) is a SpecError naming the
 * file, what is missing and the command that seals it.
 */
export function sealedValues(stack: ResolvedStack): Map<string, Record<string, string>> {
  const sealed = stack.sealedSecrets;
  if (!sealed) return new Map();
  const shown = shownPath(sealed.path);
  const hint = `run \`${sealCommand(stack)}\` (the certificate: \`${fetchCertCommand(stack)}\`)`;
  const entries = readSealedFile(sealed.path);
  if (!entries) throw new SpecError(shown, [{ path: [], message: `not found; the ${stack.environment} environment takes its Secrets from it (secrets.provider: sealed-secrets): ${hint}` }]);
  const foreign = entries.filter((e) => e.namespace !== stack.namespace);
  const problems = foreign.map((e) => `${e.name} is sealed for namespace ${e.namespace}, not ${stack.namespace}`);
  const missing: string[] = [];
  const out = new Map<string, Record<string, string>>();
  for (const req of requiredSecrets(stack.spec)) {
    const entry = entries.find((e) => e.name === req.name && e.namespace === stack.namespace);
    const lacking = req.keys.filter((k) => entry?.encryptedData[k] === undefined);
    if (!entry) missing.push(req.name);
    else if (lacking.length > 0) missing.push(...lacking.map((k) => `${req.name}/${k}`));
    else out.set(req.name, Object.fromEntries(req.keys.map((k) => [k, entry.encryptedData[k]])));
  }
  if (missing.length > 0) problems.push(`lacks ${missing.join(', ')}`);
  if (problems.length > 0) throw new SpecError(shown, [{ path: [], message: `${problems.join('; ')}: ${hint}` }]);
  return out;
}

/**
 * With an environment's `secrets.provider: sealed-secrets`, one SealedSecret per Secret the stack
 * needs, its values taken from the sealed file `npm run secrets -- --seal` writes. The controller
 * decrypts each into the Secret of the same name (strict scope: sealed for this namespace and name).
 */
export class SealedSecrets extends Construct {
  readonly sealedSecrets: SealedSecret[] = [];

  constructor(scope: Construct, id: string, props: { readonly stack: ResolvedStack }) {
    super(scope, id);
    for (const [name, data] of sealedValues(props.stack)) {
      this.sealedSecrets.push(new SealedSecret(this, name, sealedSecretProps(props.stack, name, data)));
    }
  }
}
