/**
 * The stack spec: one validated model of a stack. Every construct, the compose importer and the
 * CLI read it; nothing else carries component settings. Field docs say what happens by default.
 */
import { z } from 'zod';
import { absPath, command, cron, dnsLabel, duration, env, httpPath, image, port, portName, probe, quantity, relation, resources, routePath, secretRef, uid, workloadFields } from './fields';
import { edge, monitoring } from './schema-edge';
import { EVICTION_POLICIES } from './redis-memory';

export { edge, monitoring, peer, type Peer } from './schema-edge';

export { dnsLabel, relation, resources, secretRef, SECRET_LOOKING, type RelationInput } from './fields';

export const ENVIRONMENTS = ['kind', 'k3d', 'prod'] as const;
export type EnvironmentName = (typeof ENVIRONMENTS)[number];

export const webComponent = z.strictObject({
  kind: z.literal('web'),
  ...workloadFields,
  /** What the service is, for labels and defaults: `api` or `dashboard`. @default api */
  role: z.enum(['api', 'dashboard']).optional(),
  port,
  /** Startup and readiness probes GET this path. Required unless `probe` gives a command, a TCP port or false. */
  healthPath: httpPath.optional(),
  /**
   * A cheaper endpoint for the liveness probe. Without one, liveness only checks that the port
   * accepts connections: a readiness path that checks the database would otherwise restart every
   * pod whenever the database is down. @default TCP check on the port
   */
  livenessPath: httpPath.optional(),
  /** Probe timings, or a command or TCP check instead of the health path. @default HTTP GET on healthPath (startup 2 min, readiness every 10 s, liveness a TCP check every 20 s) */
  probe: probe.optional(),
  /** Further ports the container listens on, added to the Service (e.g. a separate metrics port). @default none */
  extraPorts: z.array(z.strictObject({ name: portName, port })).optional(),
  /** Prometheus metrics path on the same port. @default not scraped */
  metricsPath: httpPath.optional(),
  /** @default 1 (environment presets change it) */
  replicas: z.number().int().min(1).max(100).optional(),
  /** Pin a client to one pod (Streamlit keeps session state in memory). @default true for dashboards */
  stickySessions: z.boolean().optional(),
  /** Seconds between SIGTERM and SIGKILL. @default 30 */
  terminationGracePeriodSeconds: z.number().int().min(1).max(3600).optional(),
  /** Seconds the preStop hook sleeps so endpoints drain before SIGTERM. 0 disables it. @default 5 */
  preStopSleepSeconds: z.number().int().min(0).max(120).optional(),
  /**
   * Where the edge routes public traffic to this service: a path prefix on the stack's host, and/or
   * a host of its own (`<subdomain>.<edge host>`). Prefixes are passed on unchanged, so the app
   * serves under them (FastAPI `root_path`). `false` keeps it internal.
   * @default "/" for dashboards, "/api" for APIs
   */
  route: z.union([z.literal(false), z.strictObject({ path: routePath.optional(), subdomain: dnsLabel.optional() })]).optional(),
  /**
   * Several public entries to this service, each a path prefix and/or a subdomain as in `route`
   * (a proxy that sends `/health` and `/api/v1` to one API). Use either this or `route`.
   * @default the single entry of `route`
   */
  routes: z.array(z.strictObject({ path: routePath.optional(), subdomain: dnsLabel.optional() })).min(1, 'must list at least one route (use route: false for none)').optional(),
  /** The service upgrades connections to WebSockets (Streamlit does). @default true for dashboards */
  websockets: z.boolean().optional(),
  /** Horizontal autoscaling, used when replicas > 1. */
  autoscaling: z
    .strictObject({ maxReplicas: z.number().int().min(1).max(100), cpuUtilization: z.number().int().min(10).max(100).optional() })
    .optional(),
});

export const workerComponent = z.strictObject({
  kind: z.literal('worker'),
  ...workloadFields,
  /** `scheduled` runs as a CronJob, `continuous` as a Deployment with a health port. @default scheduled */
  mode: z.enum(['scheduled', 'continuous']).optional(),
  /** @default "0 0 * * *" (daily at midnight) */
  schedule: cron.optional(),
  /** IANA time zone of the schedule. @default Etc/UTC */
  timeZone: z.string().regex(/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/, 'must be an IANA time zone such as "Europe/Berlin"').optional(),
  /** Seconds after the scheduled time a missed run may still start. @default 300 */
  startingDeadlineSeconds: z.number().int().min(10).optional(),
  /** Seconds a run may take before it is killed. @default 7200 */
  activeDeadlineSeconds: z.number().int().min(1).optional(),
  /** Retries of a failed run. @default 2 */
  backoffLimit: z.number().int().min(0).max(20).optional(),
  /** @default { successful: 3, failed: 3 } */
  history: z.strictObject({ successful: z.number().int().min(0).max(50), failed: z.number().int().min(0).max(50) }).optional(),
  /** Continuous mode: number of pods. @default 1 */
  replicas: z.number().int().min(1).max(100).optional(),
  /** Continuous mode: port and path of the health endpoint. */
  healthPort: port.optional(),
  healthPath: httpPath.optional(),
  /** Continuous mode: liveness endpoint. @default TCP check on the health port */
  livenessPath: httpPath.optional(),
  /** Continuous mode: metrics path on the health port. */
  metricsPath: httpPath.optional(),
  /** Continuous mode: a command or TCP check instead of the health endpoint, or false for none. @default HTTP GET on healthPath */
  probe: probe.optional(),
  /** Seconds between SIGTERM and SIGKILL. @default 60 (continuous), 30 (scheduled) */
  terminationGracePeriodSeconds: z.number().int().min(1).max(3600).optional(),
});

export const jobComponent = z.strictObject({
  kind: z.literal('job'),
  ...workloadFields,
  /** @default ["alembic", "upgrade", "head"] when args is unset too; with args, the image's entrypoint */
  command: command.optional(),
  /**
   * Exits 0 once the job's work is in place; components listing this job in `after` run it in an
   * init container until it succeeds. @default compares `alembic current` with `alembic heads`
   */
  completionCheck: command.optional(),
  /** @default 3 */
  backoffLimit: z.number().int().min(0).max(20).optional(),
  /** @default 600 */
  activeDeadlineSeconds: z.number().int().min(1).optional(),
  /**
   * Seconds a finished Job is kept. Unset, it stays until a later release replaces it, so applying the
   * same release again runs nothing (GitOps tools would re-create a Job deleted by its TTL). @default unset
   */
  ttlSecondsAfterFinished: z.number().int().min(0).optional(),
});

const sqlIdent = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier');

export const postgresComponent = z.strictObject({
  kind: z.literal('postgres'),
  /** @default postgres:16.4 */
  image: image.optional(),
  /** Databases created at first start; each owner gets a login role. */
  databases: z.array(z.strictObject({ name: sqlIdent, owner: sqlIdent })).min(1, 'must list at least one database'),
  /** @default 5Gi */
  storage: quantity.optional(),
  /** Size of the /dev/shm memory volume. @default 256Mi */
  sharedMemory: quantity.optional(),
  /** Use a server outside the cluster instead of running one. */
  external: z.strictObject({ host: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a host name'), port: z.number().int().min(1).max(65535).optional() }).optional(),
  /** Scheduled pg_dump into its own volume. @default on in prod, off locally */
  backup: z
    .strictObject({
      enabled: z.boolean().optional(),
      schedule: cron.optional(),
      /** Dumps kept per database. @default 7 */
      retain: z.number().int().min(1).max(365).optional(),
      storage: quantity.optional(),
    })
    .optional(),
  runAsUser: uid.optional(),
  resources: resources.optional(),
});

export const redisComponent = z.strictObject({
  kind: z.literal('redis'),
  /** @default redis:7.4 */
  image: image.optional(),
  /** Require a password read from the `<name>-auth` Secret. @default true */
  password: z.boolean().optional(),
  /** @default 1Gi */
  storage: quantity.optional(),
  /**
   * Redis `maxmemory`, e.g. "128mb". The container's memory limit must be at least 1.5 times this
   * (preset limits are raised to fit). @default two thirds of the memory limit
   */
  maxMemory: z.string().regex(/^[0-9]+(kb|mb|gb)$/, 'must be a Redis size such as "128mb"').optional(),
  /**
   * The data is disposable (a cache, not a queue, broker or store): at the cap, Redis evicts the
   * least recently used keys instead of refusing writes. @default false
   */
  cache: z.boolean().optional(),
  /**
   * Redis `maxmemory-policy`, when neither default fits. `noeviction` makes writes fail at the cap
   * and loses nothing, which Celery/RQ brokers and session stores need.
   * @default allkeys-lru with `cache`, otherwise noeviction
   */
  evictionPolicy: z.enum(EVICTION_POLICIES).optional(),
  runAsUser: uid.optional(),
  resources: resources.optional(),
});

export const pgadminComponent = z.strictObject({
  kind: z.literal('pgadmin'),
  /** @default dpage/pgadmin4:9.10 */
  image: image.optional(),
  /** Login e-mail; the password comes from the `<name>-login` Secret. @default admin@example.com */
  email: z.string().regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, 'must be an e-mail address').optional(),
  /** The PostgreSQL components to pre-register. @default every in-cluster postgres */
  servers: z.array(dnsLabel).optional(),
  runAsUser: uid.optional(),
  resources: resources.optional(),
});

/**
 * Any other server that keeps data (MySQL, MariaDB, MongoDB): a StatefulSet with a claim template
 * per data directory, a client and a headless Service, hardened like every other pod.
 */
export const statefulComponent = z.strictObject({
  kind: z.literal('stateful'),
  image,
  command: workloadFields.command,
  args: workloadFields.args,
  env: workloadFields.env,
  secretEnv: workloadFields.secretEnv,
  envFrom: workloadFields.envFrom,
  files: workloadFields.files,
  secretFiles: workloadFields.secretFiles,
  writablePaths: workloadFields.writablePaths,
  /** Servers this one talks to (a broker to its coordinator): the same relations as workloads. @default none */
  uses: workloadFields.uses,
  /** Ports the server listens on; clients (`uses`) connect to the first. */
  ports: z.array(z.strictObject({ name: portName, port })).min(1, 'must list at least one port'),
  /** Directories kept across restarts, one claim template each. @default none */
  data: z.array(z.strictObject({ name: dnsLabel, path: absPath, /** @default 1Gi */ storage: quantity.optional() })).optional(),
  /** @default a TCP connect to the first port */
  probe: probe.optional(),
  /** Seconds between SIGTERM and SIGKILL, time to flush to disk. @default 60 */
  terminationGracePeriodSeconds: z.number().int().min(1).max(3600).optional(),
  runAsUser: uid.optional(),
  resources: resources.optional(),
});

export const component = z.discriminatedUnion('kind', [webComponent, workerComponent, jobComponent, postgresComponent, redisComponent, pgadminComponent, statefulComponent], {
  error: (issue) =>
    issue.code === 'invalid_union' ? 'must have kind web, worker, job, postgres, redis, pgadmin or stateful' : undefined,
});

/** What an environment may change on a component. */
export const componentOverride = z.strictObject({
  enabled: z.boolean().optional(),
  image: image.optional(),
  replicas: z.number().int().min(1).max(100).optional(),
  resources: resources.optional(),
  env: env.optional(),
  storage: quantity.optional(),
  autoscaling: webComponent.shape.autoscaling,
  backup: postgresComponent.shape.backup,
});

export const environmentOverride = z.strictObject({
  /** @default preset: standard (kind), local-path (k3d), the cluster default (prod) */
  storageClass: z.string().min(1).optional(),
  imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).optional(),
  /**
   * Where the stack's Secrets come from here: with `external-secrets`, one ExternalSecret per Secret
   * reads remote key `<keyPrefix><secret name>` (one property per key) from the platform's store, and
   * `npm run secrets` / apply create none. @default created by `npm run secrets` (and apply)
   */
  secrets: z
    .strictObject({
      provider: z.literal('external-secrets'),
      /** The SecretStore (in the stack's namespace) or ClusterSecretStore to read from. */
      store: z.strictObject({ name: dnsLabel, /** @default ClusterSecretStore */ kind: z.enum(['ClusterSecretStore', 'SecretStore']).optional() }),
      /** @default "<stack name>/" */
      keyPrefix: z.string().regex(/^[-._/a-zA-Z0-9]*$/, 'must be a key prefix of letters, digits, "-", ".", "_" and "/"').optional(),
      /** How often the operator re-reads the store, so a rotated value reaches the cluster. @default 1h */
      refreshInterval: duration.optional(),
    })
    .optional(),
  /** Replaces the stack's `imagePullSecrets` in this environment. @default the stack's */
  imagePullSecrets: z.array(dnsLabel).optional(),
  components: z.record(dnsLabel, componentOverride).optional(),
  edge: edge.optional(),
  monitoring: monitoring.optional(),
});

export const stackSpec = z.strictObject({
  /** Names the stack: labels (`app.kubernetes.io/part-of`) and the default namespace. */
  name: dnsLabel,
  /** @default the stack name */
  namespace: dnsLabel.optional(),
  components: z.record(dnsLabel, component).refine((c) => Object.keys(c).length > 0, 'must hold at least one component'),
  /**
   * Secrets (type kubernetes.io/dockerconfigjson) every pod pulls its images with, for private
   * registries. The manifests name them; create them like the other Secrets. @default none
   */
  imagePullSecrets: z.array(dnsLabel).optional(),
  /** Volumes workloads share (`volumes` of a component), one PersistentVolumeClaim each, named after the key. @default none */
  volumes: z
    .record(
      dnsLabel,
      z.strictObject({
        /** @default 1Gi */
        storage: quantity.optional(),
        /** ReadWriteOnce volumes can only be shared by pods on one node (fine on kind and k3d). @default ReadWriteOnce */
        accessMode: z.enum(['ReadWriteOnce', 'ReadWriteMany']).optional(),
      }),
    )
    .optional(),
  /** Plain settings several components read (`envFrom`), one ConfigMap each, named after the key. Secret-looking names are rejected. @default none */
  envFiles: z.record(dnsLabel, env).optional(),
  /**
   * How NetworkPolicies admit traffic between the stack's own pods. `declared`: exactly the flows
   * of `uses` (and the edge, monitoring, DNS and `egress`). `stack`: every pod of the stack may also
   * reach every Service port of the stack, for stacks whose flows are not all known (an imported
   * compose project whose code may dial any service); outside traffic stays denied except
   * declared `egress`. @default declared
   */
  network: z.strictObject({ mode: z.enum(['declared', 'stack']).optional() }).optional(),
  edge: edge.optional(),
  monitoring: monitoring.optional(),
  environments: z.strictObject({ kind: environmentOverride.optional(), k3d: environmentOverride.optional(), prod: environmentOverride.optional() }).optional(),
});

export type StackSpecInput = z.input<typeof stackSpec>;
export type StackSpec = z.output<typeof stackSpec>;
export type Component = z.output<typeof component>;
export type WebComponent = z.output<typeof webComponent>;
export type WorkerComponent = z.output<typeof workerComponent>;
export type JobComponent = z.output<typeof jobComponent>;
export type PostgresComponent = z.output<typeof postgresComponent>;
export type RedisComponent = z.output<typeof redisComponent>;
export type PgadminComponent = z.output<typeof pgadminComponent>;
export type StatefulComponent = z.output<typeof statefulComponent>;
export type Resources = z.output<typeof resources>;
export type EnvironmentOverride = z.output<typeof environmentOverride>;
export type Edge = z.output<typeof edge>;
export type Monitoring = z.output<typeof monitoring>;
export type SecretRef = z.output<typeof secretRef>;
export type Relation = z.output<typeof relation>;
export type ComponentOverride = z.output<typeof componentOverride>;
