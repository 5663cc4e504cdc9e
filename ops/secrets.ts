/**
 * Creates the Secrets a stack references, for one environment, without ever putting them in dist/.
 *
 *   npm run secrets -- --env kind [--spec stack.yaml] [--out .secrets/kind.yaml] [--apply]
 *
 * Generated values (database, Redis and pgAdmin passwords) are random and kept across runs: an
 * existing file is read first, so re-running never rotates a password PostgreSQL already stored.
 * Provided values (API keys, an external server's passwords) come from environment variables named
 * after the key (fred-api-key -> FRED_API_KEY), or after Secret and key for a password or a key
 * several Secrets share (db-user-app/password -> DB_USER_APP_PASSWORD; model/relations.ts).
 * Locally a missing one gets a placeholder and a warning; for prod it is an error.
 * The file is written with mode 0600 under the gitignored .secrets/; --apply also runs
 * `kubectl apply --server-side -f` on it.
 *
 *   npm run secrets -- --env prod --seal --cert PUB.pem [--spec stack.yaml]
 *
 * With `secrets.provider: sealed-secrets` the same values are sealed with the controller's
 * certificate into the environment's sealed file instead (sealSecrets, ops/seal.ts).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { SealedSecret } from '../imports/bitnami.com';
import { fetchCertCommand, readSealedFile, sealedSecretProps, shownPath } from '../charts/sealed-secrets';
import { toYaml } from '../charts/yaml';
import { describeSpecError, SpecError } from '../model/errors';
import { loadSpecFile } from '../model/load';
import { readYamlDocuments, readYamlText, YamlInputError } from '../model/read-yaml';
import { resolveStack, type ResolvedStack } from '../model/presets';
import { providedVariable, requiredSecrets, type SecretRequirement } from '../model/relations';
import { ENVIRONMENTS, type EnvironmentName, type StackSpec } from '../model/schema';
import { readSealingKey, SealError, sealValue } from './seal';

/** URL-safe, so a password can sit inside DATABASE_URL without escaping. */
export function randomPassword(): string {
  return randomBytes(24).toString('base64url');
}

export interface SecretsPlan {
  readonly objects: object[];
  readonly warnings: string[];
}

interface PlannedValues {
  readonly req: SecretRequirement;
  readonly data: Record<string, string>;
  /** Keys whose value is the one `existing` held. */
  readonly kept: ReadonlySet<string>;
}

/**
 * The value of every key: a provided key from the environment, else the existing one (else a
 * placeholder locally, an error in prod); a generated one kept, else random.
 */
function planValues(stack: ResolvedStack, existing: Map<string, Record<string, string>>, env: NodeJS.ProcessEnv): { planned: PlannedValues[]; warnings: string[] } {
  const warnings: string[] = [];
  const missing: string[] = [];
  const required = requiredSecrets(stack.spec);
  const provided = required.filter((r) => r.source === 'provided');
  const planned = required.map((req: SecretRequirement) => {
    const data: Record<string, string> = {};
    const kept = new Set<string>();
    for (const key of req.keys) {
      const old = existing.get(req.name)?.[key];
      const variable = providedVariable(req.name, key, provided.filter((r) => r.keys.includes(key)).length > 1);
      const fromEnv = env[variable];
      if (req.source === 'provided' && fromEnv) data[key] = fromEnv;
      else if (old) {
        data[key] = old;
        kept.add(key);
      } else if (req.source === 'generated') data[key] = randomPassword();
      else if (stack.preset.local) {
        data[key] = `placeholder-${randomPassword().slice(0, 8)}`;
        warnings.push(`${req.name}/${key}: set ${variable} to use a real value (placeholder written; used by ${req.usedBy.join(', ')})`);
      } else missing.push(`${req.name}/${key} (set ${variable})`);
    }
    return { req, data, kept };
  });
  if (missing.length > 0) throw new Error(`environment ${stack.environment} needs values for: ${missing.join(', ')}`);
  return { planned, warnings };
}

/** Builds the Secret objects, reusing `existing` values (secret name -> key -> value). */
export function planSecrets(
  spec: StackSpec,
  environment: EnvironmentName,
  existing: Map<string, Record<string, string>>,
  env: NodeJS.ProcessEnv = process.env,
): SecretsPlan {
  const stack = resolveStack(spec, environment);
  const { planned, warnings } = planValues(stack, existing, env);
  const objects = planned.map(({ req, data }) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name: req.name, namespace: stack.namespace, labels: { 'app.kubernetes.io/part-of': stack.name, 'app.kubernetes.io/managed-by': 'stackport' } },
    stringData: data,
  }));
  return { objects, warnings };
}

export function readExisting(file: string): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  if (!existsSync(file)) return out;
  let docs: unknown[];
  try {
    docs = readYamlDocuments(readYamlText(file));
  } catch (e) {
    if (e instanceof YamlInputError) throw new Error(`${file}${e.location ? `:${e.location}` : ''}: ${e.message}`);
    throw e;
  }
  for (const doc of docs) {
    const o = doc as { kind?: string; metadata?: { name?: string }; stringData?: Record<string, string> } | null;
    if (o?.kind === 'Secret' && o.metadata?.name && o.stringData) out.set(o.metadata.name, o.stringData);
  }
  return out;
}

/**
 * When the environment reads its Secrets from a store (External Secrets Operator), what the store
 * must hold: one line per remote key with its properties. Undefined when Secrets are created here.
 */
export function storeKeys(spec: StackSpec, environment: EnvironmentName): string[] | undefined {
  const stack = resolveStack(spec, environment);
  if (!stack.secretStore) return undefined;
  const prefix = stack.secretStore.keyPrefix ?? `${stack.name}/`;
  return requiredSecrets(stack.spec).map((r) => `${prefix}${r.name}: ${r.keys.join(', ')}${r.source === 'generated' ? ' (random passwords you generate)' : ''}`);
}

/** Plans the Secrets, writes them to `file` (mode 0600, values kept from an earlier file) and returns the warnings. */
export function writeSecrets(spec: StackSpec, environment: EnvironmentName, file: string): SecretsPlan {
  const plan = planSecrets(spec, environment, readExisting(file));
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}`;
  // toYaml quotes what YAML 1.1 readers (kubectl) would take for a boolean or a number.
  writeFileSync(tmp, toYaml(plan.objects), { mode: 0o600 });
  renameSync(tmp, file);
  return plan;
}

export interface SealResult {
  /** The sealed file, as the user finds it. */
  readonly file: string;
  readonly objects: object[];
  /** Values sealed now (new passwords, provided keys from the environment). */
  readonly sealed: number;
  /** Values kept as they were sealed. */
  readonly kept: number;
  /** What was sealed now, in the clear (secret name -> key -> value), for checks; never printed. */
  readonly plain: Map<string, Record<string, string>>;
  readonly warnings: string[];
}

/**
 * `--seal`: writes the environment's sealed file (mode 0644: only the controller can read it, so it
 * is safe to commit). Values already sealed there are kept as they are: they cannot be read back,
 * and sealing new ones would rotate passwords PostgreSQL already stored. A provided key set in the
 * environment is sealed again; a Secret or key the stack no longer needs is dropped. Every input is
 * checked before anything is written.
 */
export function sealSecrets(spec: StackSpec, environment: EnvironmentName, certFile: string | undefined, opts: { specFile?: string; env?: NodeJS.ProcessEnv } = {}): SealResult {
  const stack = resolveStack(spec, environment, opts.specFile);
  const sealed = stack.sealedSecrets;
  if (!sealed) {
    const has = stack.secretStore ? 'secrets.provider: external-secrets' : 'no secrets provider (its Secrets come from `npm run secrets`)';
    throw new SealError(`--seal: environment ${environment} has ${has}; set environments.${environment}.secrets: {provider: sealed-secrets} in ${opts.specFile ?? 'the spec'} to seal its Secrets`);
  }
  if (!certFile) throw new SealError(`--seal needs --cert FILE, the controller's certificate: ${fetchCertCommand(stack)}`);
  const key = readSealingKey(certFile);
  const warnings: string[] = [];
  const existing = new Map<string, Record<string, string>>();
  const needed = new Set(requiredSecrets(stack.spec).map((r) => r.name));
  for (const e of readSealedFile(sealed.path) ?? []) {
    if (e.namespace !== stack.namespace) warnings.push(`dropped ${e.namespace}/${e.name}: sealed for another namespace, it cannot unseal in ${stack.namespace}`);
    else if (!needed.has(e.name)) warnings.push(`dropped ${e.name}: the stack no longer needs it`);
    else existing.set(e.name, { ...e.encryptedData });
  }
  const { planned, warnings: planWarnings } = planValues(stack, existing, opts.env ?? process.env);
  const plain = new Map<string, Record<string, string>>();
  let keptCount = 0;
  const objects = planned.map(({ req, data, kept }) => {
    const encrypted: Record<string, string> = {};
    for (const k of req.keys) {
      if (kept.has(k)) {
        encrypted[k] = data[k];
        keptCount++;
      } else {
        encrypted[k] = sealValue(key, stack.namespace, req.name, data[k]);
        plain.set(req.name, { ...plain.get(req.name), [k]: data[k] });
      }
    }
    return SealedSecret.manifest(sealedSecretProps(stack, req.name, encrypted));
  });
  const header = [
    `# SealedSecrets of ${stack.name} (${environment}), sealed for namespace ${stack.namespace}: only the Sealed Secrets`,
    `# controller (${sealed.controller.namespace}/${sealed.controller.name}) can decrypt them, so this file is safe to commit.`,
    `# Written by \`npm run secrets -- --env ${environment} --seal\`; re-runs keep what is sealed here. To rotate a value,`,
    '# delete its entry (or, for a provided key, set its variable) and run it again.',
    '',
  ].join('\n');
  mkdirSync(dirname(sealed.path), { recursive: true });
  const tmp = `${sealed.path}.tmp-${process.pid}`;
  writeFileSync(tmp, header + toYaml(objects));
  chmodSync(tmp, 0o644); // whatever the umask: the file is meant to be shared
  renameSync(tmp, sealed.path);
  const sealedCount = [...plain.values()].reduce((n, d) => n + Object.keys(d).length, 0);
  return { file: shownPath(sealed.path), objects, sealed: sealedCount, kept: keptCount, plain, warnings: [...warnings, ...planWarnings] };
}

function main(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    options: { env: { type: 'string', default: 'kind' }, spec: { type: 'string' }, out: { type: 'string' }, apply: { type: 'boolean' }, seal: { type: 'boolean' }, cert: { type: 'string' } },
  });
  const environment = values.env as EnvironmentName;
  if (!ENVIRONMENTS.includes(environment)) throw new Error(`--env ${values.env}: expected one of ${ENVIRONMENTS.join(', ')}`);
  const spec: StackSpec = values.spec ? loadSpecFile(values.spec, { onNote: (n) => console.error(`note: ${n}`) }) : require('../model/reference').referenceStack;
  if (values.seal) {
    if (values.apply || values.out) throw new SealError(`--seal writes the sealed file the spec names and applies nothing: leave out ${values.apply ? '--apply' : '--out'} (the SealedSecrets reach the cluster with the stack)`);
    const r = sealSecrets(spec, environment, values.cert, { specFile: values.spec });
    for (const w of r.warnings) console.warn(`warning: ${w}`);
    console.log(`wrote ${r.objects.length} SealedSecrets to ${r.file} (${r.sealed} values sealed now, ${r.kept} kept as sealed); commit it with the spec`);
    return;
  }
  if (values.cert) throw new SealError('--cert is only read with --seal');
  const file = values.out ?? `.secrets/${environment}.yaml`;
  const sealed = resolveStack(spec, environment, values.spec).sealedSecrets;
  if (sealed) {
    console.log(`${environment} takes its Secrets from the SealedSecrets in ${shownPath(sealed.path)}; nothing written. Seal them with --seal --cert FILE.`);
    return;
  }
  const keys = storeKeys(spec, environment);
  if (keys) {
    console.log(`${environment} reads its Secrets from a secret store through External Secrets Operator; nothing written. The store must hold:`);
    for (const k of keys) console.log(`  ${k}`);
    return;
  }
  const plan = writeSecrets(spec, environment, file);
  for (const w of plan.warnings) console.warn(`warning: ${w}`);
  console.log(`wrote ${plan.objects.length} Secrets to ${file}`);
  if (values.apply) execFileSync('kubectl', ['apply', '--server-side', '--field-manager=stackport-secrets', '-f', file], { stdio: 'inherit' });
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    console.error(`error: ${e instanceof SpecError ? describeSpecError(e) : (e as Error).message}`);
    process.exitCode = e instanceof SpecError ? 1 : 2;
  }
}
