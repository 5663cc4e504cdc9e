/**
 * Pod hardening, in one place. Every pod template of the stack is built here, so each one runs
 * as a non-root uid >= 10000 with no privilege escalation, no capabilities, seccomp RuntimeDefault,
 * a read-only root filesystem, no service-account token and explicit resources; a pod that serves
 * a port below 1024 gets it through a namespaced sysctl, never a capability.
 */
import { k8s } from './k8s';
import { LIVE_SYNC, LIVE_SYNC_SIZE, liveSyncMounts, liveSyncSeed } from './live-sync';
import type { Resources } from '../model/schema';
import type { EnvVar } from '../model/relations';

/** Application pods run as this uid/gid unless the spec says otherwise. */
export const DEFAULT_UID = 10001;
/** Size cap of each writable emptyDir, so a runaway temp file cannot fill the node. */
const SCRATCH_SIZE = '256Mi';

export interface ContainerProps {
  readonly name: string;
  readonly image: string;
  readonly command?: string[];
  readonly args?: string[];
  /** Literals (may use `$(VAR)` of earlier entries) and Secret keys. */
  readonly env?: EnvVar[];
  /** ConfigMaps whose keys all become variables; `env` wins on a clash. @default none */
  readonly envFrom?: string[];
  readonly ports?: { name: string; containerPort: number }[];
  readonly resources: Resources;
  readonly volumeMounts?: k8s.VolumeMount[];
  readonly startupProbe?: k8s.Probe;
  readonly readinessProbe?: k8s.Probe;
  readonly livenessProbe?: k8s.Probe;
  readonly lifecycle?: k8s.Lifecycle;
  /** Only NET_BIND_SERVICE is admitted by Pod Security "restricted". @default none */
  readonly addCapabilities?: 'NET_BIND_SERVICE'[];
  /** `Always` on an init container makes it a sidecar: started first, running beside the others. @default none */
  readonly restartPolicy?: 'Always';
}

export interface PodProps {
  readonly labels: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly containers: ContainerProps[];
  readonly initContainers?: ContainerProps[];
  readonly volumes?: k8s.Volume[];
  /** Each path gets its own emptyDir, mounted in every container. @default ["/tmp"] */
  readonly writablePaths?: string[];
  /** @default DEFAULT_UID; the gid and fsGroup follow it */
  readonly uid?: number;
  /** How images are pulled: the environment's policy and registry credentials (pass the resolved stack). */
  readonly pull: { readonly imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never'; readonly imagePullSecrets: readonly string[] };
  /** @default 30 */
  readonly terminationGracePeriodSeconds?: number;
  /** @default Always (Never for Jobs) */
  readonly restartPolicy?: 'Always' | 'OnFailure' | 'Never';
  readonly topologySpread?: Record<string, string>;
  /** Dev manifests only: folders of container `container` that live update writes into (charts/live-sync.ts). @default none */
  readonly liveSync?: { readonly container: string; readonly paths: readonly string[] };
}

export function quantity(q: string): k8s.Quantity {
  return k8s.Quantity.fromString(q);
}

export function toResourceRequirements(r: Resources): k8s.ResourceRequirements {
  const pick = (o: { cpu?: string; memory: string; ephemeralStorage?: string }) => {
    const out: Record<string, k8s.Quantity> = {};
    if (o.cpu) out.cpu = quantity(o.cpu);
    out.memory = quantity(o.memory);
    if (o.ephemeralStorage) out['ephemeral-storage'] = quantity(o.ephemeralStorage);
    return out;
  };
  return { requests: pick(r.requests), limits: pick(r.limits) };
}

export function toEnv(env: EnvVar[]): k8s.EnvVar[] {
  return env.map((v) => ('secret' in v ? { name: v.name, valueFrom: { secretKeyRef: { name: v.secret.name, key: v.secret.key } } } : { name: v.name, value: v.value }));
}

/** Volume name for a writable path: "/var/run/postgresql" becomes "var-run-postgresql". */
export function volumeNameFor(path: string): string {
  return path.replace(/^\/+|\/+$/g, '').replace(/[^a-z0-9]+/gi, '-').toLowerCase() || 'root';
}

function container(c: ContainerProps, uid: number, pullPolicy: PodProps['pull']['imagePullPolicy'], scratch: k8s.VolumeMount[]): k8s.Container {
  return {
    name: c.name,
    image: c.image,
    imagePullPolicy: pullPolicy,
    command: c.command,
    args: c.args,
    env: c.env && c.env.length > 0 ? toEnv(c.env) : undefined,
    envFrom: c.envFrom && c.envFrom.length > 0 ? c.envFrom.map((name) => ({ configMapRef: { name } })) : undefined,
    ports: c.ports?.map((p) => ({ name: p.name, containerPort: p.containerPort, protocol: 'TCP' })),
    resources: toResourceRequirements(c.resources),
    volumeMounts: [...scratch, ...(c.volumeMounts ?? [])],
    startupProbe: c.startupProbe,
    readinessProbe: c.readinessProbe,
    livenessProbe: c.livenessProbe,
    lifecycle: c.lifecycle,
    restartPolicy: c.restartPolicy,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: uid,
      runAsGroup: uid,
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'], add: c.addCapabilities },
      seccompProfile: { type: 'RuntimeDefault' },
    },
  };
}

/** A hardened pod template. */
export function podTemplate(p: PodProps): k8s.PodTemplateSpec {
  const uid = p.uid ?? DEFAULT_UID;
  const writable = p.writablePaths ?? ['/tmp'];
  const scratchVolumes: k8s.Volume[] = writable.map((path) => ({ name: volumeNameFor(path), emptyDir: { sizeLimit: quantity(SCRATCH_SIZE) } }));
  const scratchMounts: k8s.VolumeMount[] = writable.map((path) => ({ name: volumeNameFor(path), mountPath: path }));
  const build = (c: ContainerProps) => container(c, uid, p.pull.imagePullPolicy, scratchMounts);
  const sync = liveSyncOf(p, scratchMounts);
  // A non-root process binds a port below 1024 only when the pod's network namespace allows it: this
  // sysctl is namespaced and "safe" (Pod Security restricted admits it), and opens no more than needed.
  const lowest = Math.min(...p.containers.flatMap((c) => (c.ports ?? []).map((port) => port.containerPort)));
  const sysctls = lowest < 1024 ? [{ name: 'net.ipv4.ip_unprivileged_port_start', value: String(lowest) }] : undefined;
  return {
    metadata: { labels: p.labels, annotations: p.annotations },
    spec: {
      automountServiceAccountToken: false,
      imagePullSecrets: p.pull.imagePullSecrets.length ? p.pull.imagePullSecrets.map((name) => ({ name })) : undefined,
      // Service links inject FOO_PORT=tcp://... variables that clash with images reading REDIS_PORT or POSTGRES_PORT.
      enableServiceLinks: false,
      restartPolicy: p.restartPolicy,
      terminationGracePeriodSeconds: p.terminationGracePeriodSeconds ?? 30,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: uid,
        runAsGroup: uid,
        fsGroup: uid,
        fsGroupChangePolicy: 'OnRootMismatch',
        seccompProfile: { type: 'RuntimeDefault' },
        sysctls,
      },
      initContainers: p.initContainers?.length || sync ? [...(sync ? [sync.seed] : []), ...(p.initContainers ?? [])].map(build) : undefined,
      containers: p.containers.map((c) => build(sync?.app === c ? { ...c, volumeMounts: [...(c.volumeMounts ?? []), ...sync.mounts] } : c)),
      volumes: [...scratchVolumes, ...(p.volumes ?? []), ...(sync ? [{ name: LIVE_SYNC, emptyDir: { sizeLimit: quantity(LIVE_SYNC_SIZE) } }] : [])],
      // Replicas prefer different nodes and zones, but still schedule when a node or zone is missing.
      topologySpreadConstraints: p.topologySpread
        ? ['kubernetes.io/hostname', 'topology.kubernetes.io/zone'].map((topologyKey) => ({
            maxSkew: 1,
            topologyKey,
            whenUnsatisfiable: 'ScheduleAnyway',
            labelSelector: { matchLabels: p.topologySpread },
          }))
        : undefined,
      affinity: p.topologySpread
        ? {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: p.topologySpread } } },
              ],
            },
          }
        : undefined,
    },
  };
}

/** The live-update folders of a pod (dev manifests), leaving out any the container already mounts a writable volume at. */
function liveSyncOf(p: PodProps, scratch: k8s.VolumeMount[]) {
  if (!p.liveSync || p.liveSync.paths.length === 0) return undefined;
  const app = p.containers.find((c) => c.name === p.liveSync!.container);
  if (!app) throw new Error(`live sync: the pod has no container ${p.liveSync.container}`);
  const mounted = new Set([...scratch, ...(app.volumeMounts ?? [])].map((m) => m.mountPath));
  const paths = p.liveSync.paths.filter((path) => !mounted.has(path));
  return paths.length === 0 ? undefined : { app, seed: liveSyncSeed(app, paths), mounts: liveSyncMounts(paths) };
}

/** An exec probe; `period`, `timeout` and `failures` in seconds and counts. */
export function execProbe(command: string[], period: number, timeout: number, failures: number, initialDelay?: number): k8s.Probe {
  return { exec: { command }, periodSeconds: period, timeoutSeconds: timeout, failureThreshold: failures, initialDelaySeconds: initialDelay };
}

export function tcpProbe(port: string, period: number, timeout: number, failures: number): k8s.Probe {
  return { tcpSocket: { port: k8s.IntOrString.fromString(port) }, periodSeconds: period, timeoutSeconds: timeout, failureThreshold: failures };
}

export function httpProbe(path: string, port: string, period: number, timeout: number, failures: number): k8s.Probe {
  return { httpGet: { path, port: k8s.IntOrString.fromString(port) }, periodSeconds: period, timeoutSeconds: timeout, failureThreshold: failures };
}
