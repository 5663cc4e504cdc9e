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
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { toYaml } from '../charts/yaml';
import { SpecError } from '../model/errors';
import { loadSpecFile } from '../model/load';
import { readYamlDocuments, readYamlText, YamlInputError } from '../model/read-yaml';
import { resolveStack } from '../model/presets';
import { providedVariable, requiredSecrets, type SecretRequirement } from '../model/relations';
import { ENVIRONMENTS, type EnvironmentName, type StackSpec } from '../model/schema';

/** URL-safe, so a password can sit inside DATABASE_URL without escaping. */
export function randomPassword(): string {
  return randomBytes(24).toString('base64url');
}

export interface SecretsPlan {
  readonly objects: object[];
  readonly warnings: string[];
}

/** Builds the Secret objects, reusing `existing` values (secret name -> key -> value). */
export function planSecrets(
  spec: StackSpec,
  environment: EnvironmentName,
  existing: Map<string, Record<string, string>>,
  env: NodeJS.ProcessEnv = process.env,
): SecretsPlan {
  const stack = resolveStack(spec, environment);
  const warnings: string[] = [];
  const missing: string[] = [];
  const required = requiredSecrets(stack.spec);
  const provided = required.filter((r) => r.source === 'provided');
  const objects = required.map((req: SecretRequirement) => {
    const data: Record<string, string> = {};
    for (const key of req.keys) {
      const kept = existing.get(req.name)?.[key];
      const variable = providedVariable(req.name, key, provided.filter((r) => r.keys.includes(key)).length > 1);
      const fromEnv = env[variable];
      if (req.source === 'provided') {
        if (fromEnv) data[key] = fromEnv;
        else if (kept) data[key] = kept;
        else if (stack.preset.local) {
          data[key] = `placeholder-${randomPassword().slice(0, 8)}`;
          warnings.push(`${req.name}/${key}: set ${variable} to use a real value (placeholder written; used by ${req.usedBy.join(', ')})`);
        } else missing.push(`${req.name}/${key} (set ${variable})`);
      } else {
        data[key] = kept ?? randomPassword();
      }
    }
    return {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: { name: req.name, namespace: stack.namespace, labels: { 'app.kubernetes.io/part-of': stack.name, 'app.kubernetes.io/managed-by': 'stackport' } },
      stringData: data,
    };
  });
  if (missing.length > 0) throw new Error(`environment ${environment} needs values for: ${missing.join(', ')}`);
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

function main(argv: string[]): void {
  const { values } = parseArgs({ args: argv, options: { env: { type: 'string', default: 'kind' }, spec: { type: 'string' }, out: { type: 'string' }, apply: { type: 'boolean' } } });
  const environment = values.env as EnvironmentName;
  if (!ENVIRONMENTS.includes(environment)) throw new Error(`--env ${values.env}: expected one of ${ENVIRONMENTS.join(', ')}`);
  const spec: StackSpec = values.spec ? loadSpecFile(values.spec, { onNote: (n) => console.error(`note: ${n}`) }) : require('../model/reference').referenceStack;
  const file = values.out ?? `.secrets/${environment}.yaml`;
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
    console.error(`error: ${(e as Error).message}`);
    process.exitCode = e instanceof SpecError ? 1 : 2;
  }
}
