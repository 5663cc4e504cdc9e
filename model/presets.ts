/**
 * Environment presets: what `kind`, `k3d` and `prod` change on top of a spec. The order is
 * preset defaults < the component's own fields < the spec's `environments.<env>` overrides.
 */
import { dirname, resolve } from 'node:path';
import { SpecError } from './errors';
import { ENVIRONMENTS, type Component, type EnvironmentName, type ExternalSecretsSettings, type Resources, type SealedSecretsSettings, type StackSpec } from './schema';
import { usesOf } from './relations';
import { readinessIssues } from './readiness';
import { redisMemoryProblem, withRedisHeadroom } from './redis-memory';
import { resolveEdge, resolveMonitoring, type EdgePreset, type ResolvedEdge, type ResolvedMonitoring } from './edge';

type Kind = Component['kind'];
type Sized = Kind | 'dashboard' | 'backup' | 'wait' | 'sidecar';

export interface Preset {
  /** Local presets (kind, k3d) run pgAdmin and fit a laptop node. */
  readonly local: boolean;
  readonly storageClass?: string;
  readonly imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  /** Replicas of web components and continuous workers. */
  readonly replicas: number;
  readonly backups: boolean;
  readonly storage: { postgres: string; redis: string; backup: string };
  readonly resources: Record<Sized, Resources>;
  readonly edge: EdgePreset;
}

const r = (cpu: string, memory: string, cpuLimit: string, memoryLimit: string, ephemeral = '1Gi'): Resources => ({
  requests: { cpu, memory, ephemeralStorage: '64Mi' },
  limits: { cpu: cpuLimit, memory: memoryLimit, ephemeralStorage: ephemeral },
});

// Laptop sizes: the whole reference stack requests 560m CPU and 1280Mi (password-sync sidecars included), inside kind's 1 CPU / 1.5 GiB budget.
const LOCAL_RESOURCES: Record<Sized, Resources> = {
  web: r('100m', '192Mi', '1', '512Mi'),
  dashboard: r('100m', '192Mi', '1', '768Mi'),
  worker: r('100m', '192Mi', '1', '1Gi'),
  job: r('50m', '128Mi', '500m', '256Mi'),
  postgres: r('100m', '256Mi', '1', '1Gi'),
  redis: r('50m', '64Mi', '250m', '256Mi'),
  pgadmin: r('50m', '192Mi', '500m', '512Mi'),
  stateful: r('100m', '256Mi', '1', '1Gi'),
  backup: r('50m', '64Mi', '500m', '256Mi'),
  wait: r('10m', '64Mi', '200m', '256Mi', '64Mi'),
  // password-sync beside PostgreSQL and Redis: a shell loop that runs psql or redis-cli on a change.
  sidecar: r('5m', '32Mi', '100m', '128Mi', '64Mi'),
};

const PROD_RESOURCES: Record<Sized, Resources> = {
  web: r('500m', '1Gi', '2', '2Gi'),
  dashboard: r('250m', '512Mi', '1', '1Gi'),
  worker: r('500m', '1Gi', '2', '4Gi', '4Gi'),
  job: r('100m', '256Mi', '1', '512Mi'),
  postgres: r('1', '2Gi', '2', '4Gi', '2Gi'),
  redis: r('100m', '256Mi', '500m', '512Mi'),
  pgadmin: r('50m', '192Mi', '500m', '512Mi'),
  stateful: r('500m', '1Gi', '2', '4Gi', '2Gi'),
  backup: r('100m', '256Mi', '1', '1Gi', '2Gi'),
  wait: r('10m', '64Mi', '200m', '256Mi', '64Mi'),
  sidecar: r('5m', '32Mi', '100m', '128Mi', '64Mi'),
};

export const PRESETS: Record<EnvironmentName, Preset> = {
  kind: { local: true, storageClass: 'standard', imagePullPolicy: 'IfNotPresent', replicas: 1, backups: false, storage: { postgres: '2Gi', redis: '512Mi', backup: '2Gi' }, resources: LOCAL_RESOURCES,
    // cloud-provider-kind implements Gateway API itself and registers this GatewayClass.
    edge: { mode: 'gateway', className: 'cloud-provider-kind', controller: 'generic', issuer: 'local-ca', localHost: true } },
  k3d: { local: true, storageClass: 'local-path', imagePullPolicy: 'IfNotPresent', replicas: 1, backups: false, storage: { postgres: '2Gi', redis: '512Mi', backup: '2Gi' }, resources: LOCAL_RESOURCES,
    // k3s ships Traefik v3 with the IngressClass "traefik" and its Middleware CRD.
    edge: { mode: 'ingress', className: 'traefik', controller: 'traefik', issuer: 'local-ca', localHost: true } },
  prod: { local: false, imagePullPolicy: 'Always', replicas: 2, backups: true, storage: { postgres: '20Gi', redis: '2Gi', backup: '50Gi' }, resources: PROD_RESOURCES,
    edge: { mode: 'gateway', controller: 'generic', issuer: 'acme', localHost: false } },
};

/** A component after its environment is applied: every setting the constructs need is decided. */
export type Resolved<C extends Component = Component> = C & {
  readonly name: string;
  readonly resources: Resources;
  /** Pods of a Deployment (web, continuous worker); 1 for everything else. */
  readonly replicas: number;
};

export interface ResolvedStack {
  readonly name: string;
  readonly namespace: string;
  readonly environment: EnvironmentName;
  readonly preset: Preset;
  readonly storageClass?: string;
  readonly imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  /** Registry credentials every pod template names. */
  readonly imagePullSecrets: readonly string[];
  /** Set when the environment's Secrets come from a secret store instead of `npm run secrets`. */
  readonly secretStore?: ExternalSecretsSettings;
  /** Set when the environment's Secrets come from SealedSecrets in a sealed file. */
  readonly sealedSecrets?: ResolvedSealedSecrets;
  /** The spec with this environment's overrides applied and disabled components removed. */
  readonly spec: StackSpec;
  readonly components: Readonly<Record<string, Resolved>>;
  /** Routes, hosts and TLS; undefined when no web component is public. */
  readonly edge?: ResolvedEdge;
  /** Monitors and alert rules; undefined when monitoring is disabled. */
  readonly monitoring?: ResolvedMonitoring;
  /** Dev manifests (`synth --live-sync`): the folders of `build.sync` are writable for live update. */
  readonly liveSync: boolean;
}

export interface ResolvedSealedSecrets {
  /** The sealed file as the spec names it (or the default), for messages. */
  readonly file: string;
  /** Where it is read and written. */
  readonly path: string;
  /** The spec file, for the command that writes the sealed file. */
  readonly specFile?: string;
  readonly controller: { readonly name: string; readonly namespace: string };
}

/** The sealed file lives beside the spec (the working directory for a spec without a file), like `build.context`. */
function resolveSealedSecrets(s: SealedSecretsSettings, environment: EnvironmentName, specFile: string | undefined): ResolvedSealedSecrets {
  const file = s.file ?? `sealed-secrets/${environment}.yaml`;
  return {
    file,
    path: resolve(specFile ? dirname(resolve(specFile)) : process.cwd(), file),
    specFile,
    controller: { name: s.controller?.name ?? 'sealed-secrets-controller', namespace: s.controller?.namespace ?? 'kube-system' },
  };
}

export interface ResolveOptions {
  /** Dev manifests: the folders of each component's `build.sync` become writable (charts/live-sync.ts). @default false */
  readonly liveSync?: boolean;
}

/**
 * Applies an environment to a validated spec. Throws SpecError if a disabled component is still used.
 * `specFile`: the file the spec was read from, if any; errors name it and spec-relative paths start from its folder.
 */
export function resolveStack(spec: StackSpec, environment: EnvironmentName, specFile?: string, opts: ResolveOptions = {}): ResolvedStack {
  const source = specFile ?? 'stack spec';
  if (!ENVIRONMENTS.includes(environment)) {
    throw new SpecError(source, [{ path: ['environments'], message: `unknown environment "${environment}" (expected ${ENVIRONMENTS.join(', ')})` }]);
  }
  const preset = PRESETS[environment];
  // Writable source folders are for a laptop's edit loop, never for a shared cluster.
  if (opts.liveSync && !preset.local) throw new SpecError(source, [{ path: ['environments', environment], message: `live sync (dev manifests) is for kind and k3d only, not ${environment}` }]);
  const env = spec.environments?.[environment];
  const effective: Record<string, Component> = {};
  for (const [name, c] of Object.entries(spec.components)) {
    const o = env?.components?.[name];
    const enabled = o?.enabled ?? (c.kind === 'pgadmin' ? preset.local : true);
    if (!enabled) continue;
    effective[name] = applyOverride(c, o, preset);
  }
  const effectiveSpec: StackSpec = { ...spec, components: effective };
  for (const [name, c] of Object.entries(effective)) {
    usesOf(c).forEach((rel, i) => {
      if (!effective[rel.to]) {
        throw new SpecError(source, [{ path: ['components', name, 'uses', i], message: `uses "${rel.to}", which is disabled in environment ${environment}` }]);
      }
    });
    for (const [i, dep] of (('after' in c ? c.after : undefined) ?? []).entries()) {
      if (!effective[dep]) throw new SpecError(source, [{ path: ['components', name, 'after', i], message: `waits for "${dep}", which is disabled in environment ${environment}` }]);
    }
  }
  if (!preset.local) {
    const missing = readinessIssues(spec, effective, environment, preset.edge);
    if (missing.length > 0) throw new SpecError(source, missing);
  }
  const components: Record<string, Resolved> = {};
  for (const [name, c] of Object.entries(effective)) {
    components[name] = { ...c, name, resources: resourcesOf(c, preset), replicas: replicasOf(c, preset) } as Resolved;
    const redisProblem = c.kind === 'redis' && !c.external ? redisMemoryProblem(c, components[name].resources) : undefined;
    if (redisProblem) {
      const where = env?.components?.[name]?.resources ? ['environments', environment, 'components', name] : ['components', name];
      throw new SpecError(source, [{ path: [...where, 'resources', 'limits', 'memory'], message: redisProblem }]);
    }
  }
  return {
    name: spec.name,
    namespace: spec.namespace ?? spec.name,
    environment,
    preset,
    storageClass: env?.storageClass ?? preset.storageClass,
    imagePullPolicy: env?.imagePullPolicy ?? preset.imagePullPolicy,
    imagePullSecrets: env?.imagePullSecrets ?? spec.imagePullSecrets ?? [],
    secretStore: env?.secrets?.provider === 'external-secrets' ? env.secrets : undefined,
    sealedSecrets: env?.secrets?.provider === 'sealed-secrets' ? resolveSealedSecrets(env.secrets, environment, specFile) : undefined,
    spec: effectiveSpec,
    components,
    edge: resolveEdge(effectiveSpec, environment, preset.edge, source),
    monitoring: resolveMonitoring(effectiveSpec, environment),
    liveSync: opts.liveSync ?? false,
  };
}

function sizeOf(c: Component): Sized {
  return c.kind === 'web' && c.role === 'dashboard' ? 'dashboard' : c.kind;
}

function resourcesOf(c: Component, preset: Preset): Resources {
  if (c.resources) return c.resources;
  const base = preset.resources[sizeOf(c)];
  return c.kind === 'redis' ? withRedisHeadroom(c, base) : base;
}

function replicasOf(c: Component, preset: Preset): number {
  if (c.kind === 'web') return c.replicas ?? preset.replicas;
  if (c.kind === 'worker' && c.mode === 'continuous') return c.replicas ?? 1;
  return 1;
}

function applyOverride(c: Component, o: NonNullable<NonNullable<StackSpec['environments']>[EnvironmentName]>['components'] extends infer M ? M extends Record<string, infer V> ? V | undefined : never : never, preset: Preset): Component {
  const merged: Record<string, unknown> = { ...c };
  if (c.kind === 'postgres') {
    merged.storage = c.storage ?? preset.storage.postgres;
    merged.backup = { enabled: preset.backups && !c.external, ...c.backup };
  }
  if (c.kind === 'redis') merged.storage = c.storage ?? preset.storage.redis;
  if (!o) return merged as Component;
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || k === 'enabled') continue;
    if (k === 'env' || k === 'backup') merged[k] = { ...(merged[k] as object | undefined), ...(v as object) };
    else merged[k] = v;
  }
  return merged as Component;
}
