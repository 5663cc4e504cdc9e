/**
 * The laptop cluster of a stack: its name, its kube context, the kind or k3d config it is created
 * from, and `ensureCluster`, which creates it only when it is not there yet.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toYaml } from '../charts/yaml';
import type { EnvironmentName, StackSpec } from '../model/schema';
import { OpsError, runOk } from './exec';
import { runInTerminal } from './terminal';

export type LocalEnvironment = Exclude<EnvironmentName, 'prod'>;

/**
 * kind names its node containers `<name>-control-plane` and k3d `k3d-<name>-serverlb`; both become
 * hostnames (at most 63 characters), and k3d prefixes the context too. 32 keeps every derived name
 * well inside that for both tools.
 */
export const CLUSTER_NAME_MAX = 32;

/** The cluster of a stack: its name when that fits, else a prefix and a short hash, so two long names stay apart. */
export function clusterName(spec: Pick<StackSpec, 'name'>): string {
  const base = spec.name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '') || 'stack';
  if (base.length <= CLUSTER_NAME_MAX) return base;
  const hash = createHash('sha256').update(spec.name).digest('hex').slice(0, 6);
  return `${base.slice(0, CLUSTER_NAME_MAX - 7).replace(/-+$/, '')}-${hash}`;
}

/** The kube context kind and k3d write for a cluster they create. */
export function ownContext(env: LocalEnvironment, name: string): string {
  return `${env}-${name}`;
}

/**
 * One control-plane node, no extraPortMappings. The kind preset routes through Gateway API:
 * cloud-provider-kind gives each Gateway a LoadBalancer served by its own Envoy container on the
 * `kind` Docker network (reachable from a Linux host at its IP, and published on the host by
 * cloud-provider-kind itself on macOS and Windows). Nothing in the node listens on host ports 80/443
 * (there is no hostPort ingress controller), so mapping them would only hold those host ports and
 * collide with cloud-provider-kind's own port publishing.
 */
export function kindConfig(spec: Pick<StackSpec, 'name'>) {
  return {
    kind: 'Cluster',
    apiVersion: 'kind.x-k8s.io/v1alpha4',
    name: clusterName(spec),
    nodes: [{ role: 'control-plane' }],
  };
}

/** The kind config as the YAML file `kind create cluster --config` reads. */
export function kindConfigYaml(spec: Pick<StackSpec, 'name'>): string {
  return toYaml([kindConfig(spec)]);
}

/**
 * One server, no agents. The k3d preset uses the Traefik that k3s bundles (IngressClass `traefik`,
 * its Middleware CRD), so no `--disable=traefik`; Traefik's LoadBalancer Service sits behind k3d's
 * load balancer container, which is the one that publishes 80 and 443 on the host. The context is
 * added to the kubeconfig without becoming current: stackport names it on every call anyway.
 */
export function k3dConfig(spec: Pick<StackSpec, 'name'>) {
  return {
    apiVersion: 'k3d.io/v1alpha5',
    kind: 'Simple',
    metadata: { name: clusterName(spec) },
    servers: 1,
    agents: 0,
    ports: [
      { port: '80:80', nodeFilters: ['loadbalancer'] },
      { port: '443:443', nodeFilters: ['loadbalancer'] },
    ],
    options: { kubeconfig: { updateDefaultKubeconfig: true, switchCurrentContext: false } },
  };
}

/**
 * The k3d config file. Both YAML files are written with the charts' emitter, which quotes anything a
 * YAML 1.1 reader could misread (unquoted, `80:80` is a base-60 number there).
 */
export function k3dConfigYaml(spec: Pick<StackSpec, 'name'>): string {
  return toYaml([k3dConfig(spec)]);
}

export interface EnsureClusterOptions {
  /** Progress lines; default: standard error. */
  readonly log?: (line: string) => void;
}

export interface EnsuredCluster {
  readonly name: string;
  readonly context: string;
  /** False when the cluster was already there and was left alone. */
  readonly created: boolean;
}

/** Creates the stack's kind or k3d cluster from its generated config unless a cluster of that name exists. */
export function ensureCluster(env: LocalEnvironment, spec: Pick<StackSpec, 'name'>, opts: EnsureClusterOptions = {}): EnsuredCluster {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const name = clusterName(spec);
  const context = ownContext(env, name);
  if (existingClusters(env).includes(name)) {
    log(`cluster: ${env} cluster "${name}" exists, left as it is`);
    return { name, context, created: false };
  }
  log(`cluster: creating ${env} cluster "${name}"`);
  const dir = mkdtempSync(join(tmpdir(), `stackport-${env}-`));
  try {
    const file = join(dir, `${env}-config.yaml`);
    writeFileSync(file, env === 'kind' ? kindConfigYaml(spec) : k3dConfigYaml(spec));
    const args = env === 'kind' ? ['create', 'cluster', '--config', file, '--wait', '120s'] : ['cluster', 'create', '--config', file, '--wait'];
    runInTerminal(env, args, `creating ${env} cluster "${name}"`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { name, context, created: true };
}

function existingClusters(env: LocalEnvironment): string[] {
  if (env === 'kind') {
    // "No kind clusters found." goes to stderr; stdout holds one name per line.
    return runOk('kind', ['get', 'clusters']).split('\n').map((l) => l.trim()).filter(Boolean);
  }
  const out = runOk('k3d', ['cluster', 'list', '-o', 'json']).trim();
  let list: unknown;
  try {
    list = JSON.parse(out || '[]');
  } catch {
    throw new OpsError(`k3d cluster list -o json printed something that is not JSON: ${out.slice(0, 200)}`);
  }
  if (!Array.isArray(list)) throw new OpsError('k3d cluster list -o json: expected a JSON array of clusters');
  return list.map((c: { name?: unknown }) => String(c?.name ?? ''));
}
