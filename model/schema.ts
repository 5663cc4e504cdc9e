/**
 * The stack spec: one validated model of a stack. Every construct, the compose importer and the
 * CLI read it; nothing else carries component settings. Each field's description says what
 * happens by default; docs/spec.md and schema/stack.schema.json are generated from them.
 */
import { z } from 'zod';
import { absPath, command, cron, dnsLabel, duration, env, httpPath, image, namedPort, port, probe, quantity, relation, resources, routePath, secretRef, workloadFields } from './fields';
import { edge, monitoring } from './schema-edge';
import { pgadminComponent, postgresComponent, redisComponent, statefulComponent } from './schema-servers';

export { edge, monitoring, peer, type Peer } from './schema-edge';
export { pgadminComponent, postgresComponent, redisComponent, statefulComponent } from './schema-servers';

export { dnsLabel, relation, resources, secretRef, SECRET_LOOKING, type RelationInput } from './fields';

export const ENVIRONMENTS = ['kind', 'k3d', 'prod'] as const;
export type EnvironmentName = (typeof ENVIRONMENTS)[number];

/** The `apiVersion`s this release reads, oldest first; a spec without one is read as the first. */
export const SPEC_VERSIONS = ['stackport.dev/v1alpha1'] as const;
export type SpecVersion = (typeof SPEC_VERSIONS)[number];
/** The version `stackport import` writes and the JSON Schema describes. */
export const SPEC_VERSION: SpecVersion = SPEC_VERSIONS[SPEC_VERSIONS.length - 1];

// Field docs live in `.meta()`: `description` (ending in "Default: ..." when the default is prose) and
// `default` for a literal default. model/json-schema.ts turns them into the JSON Schema and docs/spec.md.
// No zod `.default()`: the charts tell "unset" from "set", and presets fill in per environment.

const replicas = z.number().int().min(1).max(100);
const gracePeriod = z.number().int().min(1).max(3600);
const autoscaling = z
  .strictObject({
    maxReplicas: z.number().int().min(1).max(100).meta({ description: 'Upper bound of the HorizontalPodAutoscaler.' }),
    cpuUtilization: z.number().int().min(10).max(100).optional().meta({ description: 'Target average CPU utilization, in percent of the request.', default: 70 }),
  })
  .optional()
  .meta({ description: 'Horizontal autoscaling, used when replicas > 1. Default: none.' });
const routeEntry = z.strictObject({
  path: routePath.optional().meta({ description: 'Path prefix on the stack\'s host, passed on unchanged. Default: "/" for dashboards, "/api" for APIs (none with a subdomain).' }),
  subdomain: dnsLabel.optional().meta({ description: 'Serve on `<subdomain>.<edge host>` instead of (or with) a path. Default: none.' }),
});

export const webComponent = z
  .strictObject({
    kind: z.literal('web').meta({ description: 'A long-running HTTP service: a Deployment and a Service.' }),
    ...workloadFields,
    role: z.enum(['api', 'dashboard']).optional().meta({ description: 'What the service is, for labels and defaults.', default: 'api' }),
    port: port.meta({ description: 'Port the app listens on; the Service exposes it as `http`. A port below 1024 is bound by the non-root uid through the pod sysctl net.ipv4.ip_unprivileged_port_start (admitted by Pod Security restricted).' }),
    healthPath: httpPath.optional().meta({ description: 'Startup and readiness probes GET this path. Required unless `probe` gives a command, a TCP port or false.' }),
    livenessPath: httpPath
      .optional()
      .meta({
        description:
          'A cheaper endpoint for the liveness probe. Without one, liveness only checks that the port accepts connections: a readiness path that checks the database would otherwise restart every pod whenever the database is down. Default: TCP check on the port.',
      }),
    probe: probe
      .optional()
      .meta({ description: 'Probe timings, or a command or TCP check instead of the health path. Default: HTTP GET on healthPath (startup 2 min, readiness every 10 s, liveness a TCP check every 20 s).' }),
    extraPorts: z
      .array(namedPort)
      .optional()
      .meta({ description: 'Further ports the container listens on, added to the Service (e.g. a separate metrics port). Default: none.' }),
    metricsPath: httpPath.optional().meta({ description: 'Prometheus metrics path on the same port. Default: not scraped.' }),
    metricsInterval: duration.optional().meta({ description: 'Scrape interval of metricsPath, over monitoring.interval (a slow exporter or a costly endpoint). Default: monitoring.interval.' }),
    replicas: replicas.optional().meta({ description: 'Number of pods. Default: 1 locally, 2 in prod (environment presets).' }),
    stickySessions: z.boolean().optional().meta({ description: 'Pin a client to one pod (Streamlit keeps session state in memory). Default: true for dashboards, false for APIs.' }),
    terminationGracePeriodSeconds: gracePeriod.optional().meta({ description: 'Seconds between SIGTERM and SIGKILL.', default: 30 }),
    preStopSleepSeconds: z.number().int().min(0).max(120).optional().meta({ description: 'Seconds the preStop hook sleeps so endpoints drain before SIGTERM. 0 disables it.', default: 5 }),
    route: z
      .union([z.literal(false), routeEntry])
      .optional()
      .meta({
        description:
          'Where the edge routes public traffic to this service: a path prefix on the stack\'s host, and/or a host of its own (`<subdomain>.<edge host>`). Prefixes are passed on unchanged, so the app serves under them (FastAPI `root_path`). `false` keeps it internal. Default: "/" for dashboards, "/api" for APIs.',
      }),
    routes: z
      .array(routeEntry)
      .min(1, 'must list at least one route (use route: false for none)')
      .optional()
      .meta({
        description: 'Several public entries to this service, each a path prefix and/or a subdomain as in `route` (a proxy that sends `/health` and `/api/v1` to one API). Use either this or `route`. Default: the single entry of `route`.',
      }),
    websockets: z.boolean().optional().meta({ description: 'The service upgrades connections to WebSockets (Streamlit does). Default: true for dashboards, false for APIs.' }),
    autoscaling,
  })
  .meta({ id: 'WebComponent', title: 'web', description: 'A long-running HTTP service (an API or a dashboard): Deployment, Service, probes, and HPA and PodDisruptionBudget when replicas > 1.' });

export const workerComponent = z
  .strictObject({
    kind: z.literal('worker').meta({ description: 'A background worker: a CronJob (scheduled) or a Deployment (continuous).' }),
    ...workloadFields,
    mode: z.enum(['scheduled', 'continuous']).optional().meta({ description: '`scheduled` runs as a CronJob, `continuous` as a Deployment with a health port.', default: 'scheduled' }),
    schedule: cron.optional().meta({ description: 'Scheduled mode: when to run, a five-field cron expression (daily at midnight by default).', default: '0 0 * * *' }),
    timeZone: z
      .string()
      .regex(/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/, 'must be an IANA time zone such as "Europe/Berlin"')
      .optional()
      .meta({ description: 'IANA time zone of the schedule.', default: 'Etc/UTC' }),
    startingDeadlineSeconds: z.number().int().min(10).optional().meta({ description: 'Seconds after the scheduled time a missed run may still start.', default: 300 }),
    activeDeadlineSeconds: z.number().int().min(1).optional().meta({ description: 'Seconds a run may take before it is killed.', default: 7200 }),
    backoffLimit: z.number().int().min(0).max(20).optional().meta({ description: 'Retries of a failed run.', default: 2 }),
    history: z
      .strictObject({
        successful: z.number().int().min(0).max(50).meta({ description: 'Finished successful Jobs kept.' }),
        failed: z.number().int().min(0).max(50).meta({ description: 'Failed Jobs kept.' }),
      })
      .optional()
      .meta({ description: 'How many finished Jobs the CronJob keeps.', default: { successful: 3, failed: 3 } }),
    replicas: replicas.optional().meta({ description: 'Continuous mode: number of pods.', default: 1 }),
    healthPort: port.optional().meta({ description: 'Continuous mode: port of the health endpoint. Required in continuous mode unless `probe` gives a command, a TCP port or false.' }),
    ports: z
      .array(namedPort)
      .optional()
      .meta({
        description:
          'Continuous mode: ports the worker serves to other components of the stack (a task broker its runners dial), added to its headless Service beside the health port. A component that uses the worker may reach these and the health port; the edge never routes them. Default: none.',
      }),
    healthPath: httpPath.optional().meta({ description: 'Continuous mode: path of the health endpoint on the health port.' }),
    livenessPath: httpPath.optional().meta({ description: 'Continuous mode: liveness endpoint. Default: TCP check on the health port.' }),
    metricsPath: httpPath.optional().meta({ description: 'Continuous mode: Prometheus metrics path on the health port. Default: not scraped.' }),
    metricsInterval: duration.optional().meta({ description: 'Continuous mode: scrape interval of metricsPath, over monitoring.interval. Default: monitoring.interval.' }),
    probe: probe.optional().meta({ description: 'Continuous mode: a command or TCP check instead of the health endpoint, or false for none. Default: HTTP GET on healthPath.' }),
    terminationGracePeriodSeconds: gracePeriod.optional().meta({ description: 'Seconds between SIGTERM and SIGKILL. Default: 60 (continuous), 30 (scheduled).' }),
  })
  .meta({ id: 'WorkerComponent', title: 'worker', description: 'A background worker: scheduled (a CronJob, the default) or continuous (a Deployment with a health port).' });

export const jobComponent = z
  .strictObject({
    kind: z.literal('job').meta({ description: 'A one-off Job run on every release (a database migration).' }),
    ...workloadFields,
    command: command
      .optional()
      .meta({ description: 'The job\'s command. Default: ["alembic", "upgrade", "head"] when args is unset too; with args, the image\'s entrypoint.' }),
    completionCheck: command
      .optional()
      .meta({
        description:
          'Exits 0 once the job\'s work is in place; components listing this job in `after` run it in an init container until it succeeds. Default: compares `alembic current` with `alembic heads`.',
      }),
    backoffLimit: z.number().int().min(0).max(20).optional().meta({ description: 'Retries of a failed run.', default: 3 }),
    activeDeadlineSeconds: z.number().int().min(1).optional().meta({ description: 'Seconds a run may take before it is killed.', default: 600 }),
    ttlSecondsAfterFinished: z
      .number()
      .int()
      .min(0)
      .optional()
      .meta({
        description:
          'Seconds a finished Job is kept. Unset, it stays until a later release replaces it, so applying the same release again runs nothing (GitOps tools would re-create a Job deleted by its TTL). Default: unset.',
      }),
  })
  .meta({ id: 'JobComponent', title: 'job', description: 'A one-off Job, named after its spec\'s hash so each release runs it once (an alembic migration by default).' });

export const component = z.discriminatedUnion('kind', [webComponent, workerComponent, jobComponent, postgresComponent, redisComponent, pgadminComponent, statefulComponent], {
  error: (issue) =>
    issue.code === 'invalid_union' ? 'must have kind web, worker, job, postgres, redis, pgadmin or stateful' : undefined,
});

/** What an environment may change on a component. */
export const componentOverride = z
  .strictObject({
    enabled: z.boolean().optional().meta({ description: '`false` leaves the component out of this environment.', default: true }),
    image: image.optional().meta({ description: 'Replaces the component\'s image here. Default: the component\'s.' }),
    replicas: replicas.optional().meta({ description: 'Replaces the number of pods here. Default: the component\'s.' }),
    resources: resources.optional().meta({ description: 'Replaces requests and limits here. Default: the component\'s, else the preset\'s.' }),
    env: env.optional().meta({ description: 'Variables added to (or replacing) the component\'s env here. Default: none.' }),
    storage: quantity.optional().meta({ description: 'Replaces the data volume size (postgres, redis) here. Default: the component\'s.' }),
    autoscaling: webComponent.shape.autoscaling.meta({ description: 'Replaces the component\'s autoscaling here. Default: the component\'s.' }),
    backup: postgresComponent.shape.backup.meta({ description: 'Replaces the component\'s backup settings here. Default: the component\'s.' }),
  })
  .meta({ id: 'ComponentOverride', description: 'What an environment may change on a component.' });

const externalSecrets = z
  .strictObject({
    provider: z.literal('external-secrets').meta({ description: 'Read the Secrets through External Secrets Operator.' }),
    store: z
      .strictObject({
        name: dnsLabel.meta({ description: 'Name of the store.' }),
        kind: z.enum(['ClusterSecretStore', 'SecretStore']).optional().meta({ description: 'Kind of the store.', default: 'ClusterSecretStore' }),
      })
      .meta({ description: 'The SecretStore (in the stack\'s namespace) or ClusterSecretStore to read from.' }),
    keyPrefix: z
      .string()
      .regex(/^[-._/a-zA-Z0-9]*$/, 'must be a key prefix of letters, digits, "-", ".", "_" and "/"')
      .optional()
      .meta({ description: 'Prefix of every remote key. Default: "<stack name>/".' }),
    refreshInterval: duration.optional().meta({ description: 'How often the operator re-reads the store, so a rotated value reaches the cluster.', default: '1h' }),
  })
  .meta({ id: 'ExternalSecrets', description: 'Secrets read from a secret store through External Secrets Operator.' });

const sealedSecrets = z
  .strictObject({
    provider: z.literal('sealed-secrets').meta({ description: 'Emit SealedSecrets, which the Sealed Secrets controller decrypts into the Secrets.' }),
    file: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'The sealed file `npm run secrets -- --env <env> --seal` writes and synth reads, relative to the spec file\'s folder (the working directory for a spec without a file). Safe to commit. Default: "sealed-secrets/<env>.yaml".' }),
    controller: z
      .strictObject({
        name: dnsLabel.optional().meta({ description: 'Name of the controller\'s Service (kubeseal --controller-name).', default: 'sealed-secrets-controller' }),
        namespace: dnsLabel.optional().meta({ description: 'Its namespace (kubeseal --controller-namespace).', default: 'kube-system' }),
      })
      .optional()
      .meta({ description: 'The Sealed Secrets controller whose certificate the values are sealed with (`kubeseal --fetch-cert`). Default: the upstream install\'s.' }),
  })
  .meta({ id: 'SealedSecrets', description: 'Secrets sealed with the cluster\'s Sealed Secrets certificate, committed beside the spec.' });

export const environmentOverride = z
  .strictObject({
    storageClass: z.string().min(1).optional().meta({ description: 'StorageClass of every claim. Default: standard (kind), local-path (k3d), the cluster default (prod).' }),
    imagePullPolicy: z
      .enum(['Always', 'IfNotPresent', 'Never'])
      .optional()
      .meta({ description: 'Pull policy of every container. Default: IfNotPresent (kind, k3d), Always (prod).' }),
    secrets: z
      .discriminatedUnion('provider', [externalSecrets, sealedSecrets], { error: (issue) => (issue.code === 'invalid_union' ? 'must have provider external-secrets or sealed-secrets' : undefined) })
      .optional()
      .meta({
        description:
          'Where the stack\'s Secrets come from here, instead of `npm run secrets` / apply creating them: with `external-secrets`, one ExternalSecret per Secret reads remote key `<keyPrefix><secret name>` (one property per key) from the platform\'s store; with `sealed-secrets`, the output carries the SealedSecrets of the sealed file `npm run secrets -- --seal` writes. Default: created by `npm run secrets` (and apply).',
      }),
    imagePullSecrets: z.array(dnsLabel).optional().meta({ description: 'Replaces the stack\'s `imagePullSecrets` in this environment. Default: the stack\'s.' }),
    components: z.record(dnsLabel, componentOverride).optional().meta({ description: 'Per-component changes, by component name. Default: none.' }),
    edge: edge.optional().meta({ description: 'Edge settings for this environment, over the stack\'s `edge`. Default: the stack\'s.' }),
    monitoring: monitoring.optional().meta({ description: 'Monitoring settings for this environment, over the stack\'s `monitoring`. Default: the stack\'s.' }),
  })
  .meta({ id: 'Environment', description: 'What one environment (kind, k3d or prod) changes on top of its preset and the spec.' });

const environmentEntry = (env: EnvironmentName, what: string) => environmentOverride.optional().meta({ description: `Overrides for the ${env} environment (${what}). Default: none.` });

export const stackSpec = z
  .strictObject({
    apiVersion: z
      .enum(SPEC_VERSIONS)
      .optional()
      .meta({ description: `Version of the stack spec format. A file without one is read as ${SPEC_VERSIONS[0]}, with a note.`, default: SPEC_VERSION }),
    name: dnsLabel.meta({ description: 'Names the stack: labels (`app.kubernetes.io/part-of`) and the default namespace.' }),
    namespace: dnsLabel.optional().meta({ description: 'Namespace every object goes into. Default: the stack name.' }),
    components: z
      .record(dnsLabel, component)
      .refine((c) => Object.keys(c).length > 0, 'must hold at least one component')
      .meta({ description: 'The stack\'s components by name; `kind` says what each one is (web, worker, job, postgres, redis, pgadmin, stateful).', minProperties: 1 }),
    imagePullSecrets: z
      .array(dnsLabel)
      .optional()
      .meta({ description: 'Secrets (type kubernetes.io/dockerconfigjson) every pod pulls its images with, for private registries. The manifests name them; create them like the other Secrets. Default: none.' }),
    volumes: z
      .record(
        dnsLabel,
        z.strictObject({
          storage: quantity.optional().meta({ description: 'Size of the claim.', default: '1Gi' }),
          accessMode: z
            .enum(['ReadWriteOnce', 'ReadWriteMany'])
            .optional()
            .meta({ description: 'ReadWriteOnce volumes can only be shared by pods on one node (fine on kind and k3d).', default: 'ReadWriteOnce' }),
          seed: z
            .strictObject({
              image: image.meta({ description: 'Image holding the files (it needs `sh` and `cp`).' }),
              path: absPath.meta({ description: 'Folder in that image whose content is copied.' }),
            })
            .optional()
            .meta({
              description:
                'Fill the volume before first use (data or models a compose project bind-mounted from the host): an init container of every pod that mounts it copies `path` of `image` into it while it is empty. Default: the volume starts empty.',
            }),
        }),
      )
      .optional()
      .meta({ description: 'Volumes workloads share (`volumes` of a component), one PersistentVolumeClaim each, named after the key. Default: none.' }),
    envFiles: z
      .record(dnsLabel, env)
      .optional()
      .meta({ description: 'Plain settings several components read (`envFrom`), one ConfigMap each, named after the key. Secret-looking names are rejected. Default: none.' }),
    network: z
      .strictObject({
        mode: z
          .enum(['declared', 'stack'])
          .optional()
          .meta({
            description:
              '`declared`: exactly the flows of `uses` (and the edge, monitoring, DNS and `egress`). `stack`: every pod of the stack may also reach every Service port of the stack, for stacks whose flows are not all known (an imported compose project whose code may dial any service); outside traffic stays denied except declared `egress`.',
            default: 'declared',
          }),
      })
      .optional()
      .meta({ description: 'How NetworkPolicies admit traffic between the stack\'s own pods.' }),
    edge: edge.optional().meta({ description: 'Public entry: host, TLS and how traffic gets in. Default: the environment preset\'s.' }),
    monitoring: monitoring.optional().meta({ description: 'What the prometheus-operator scrapes and alerts on. Default: the environment preset\'s.' }),
    environments: z
      .strictObject({
        kind: environmentEntry('kind', 'a kind cluster on a laptop'),
        k3d: environmentEntry('k3d', 'a k3d cluster on a laptop'),
        prod: environmentEntry('prod', 'a real cluster'),
      })
      .optional()
      .meta({ description: 'Per-environment changes on top of the presets. Default: none.' }),
  })
  .meta({ description: 'A stack spec (`stack.yaml`): the components of one application and what each environment changes.' });

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
export type ExternalSecretsSettings = z.output<typeof externalSecrets>;
export type SealedSecretsSettings = z.output<typeof sealedSecrets>;
export type Edge = z.output<typeof edge>;
export type Monitoring = z.output<typeof monitoring>;
export type SecretRef = z.output<typeof secretRef>;
export type Relation = z.output<typeof relation>;
export type ComponentOverride = z.output<typeof componentOverride>;
