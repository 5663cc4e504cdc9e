/**
 * Field types the stack spec is built from: names, quantities, images, relations, mounts and the
 * settings every workload shares. model/schema.ts assembles components and the stack from these.
 */
import { z } from 'zod';

export const DNS_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const dnsLabel = z
  .string()
  .regex(DNS_LABEL, 'must be a DNS label: lower-case letters, digits and "-", starting with a letter, at most 63 characters');
export const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name (letters, digits, "_", not starting with a digit)');
export const quantity = z
  .string()
  .regex(/^[0-9]+(\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|M|G|T)?$/, 'must be a Kubernetes quantity such as "250m", "512Mi" or "2Gi"');
export const image = z
  .string()
  .regex(
    /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/,
    'must be a container image reference such as "postgres:16.4" or "ghcr.io/acme/api:1.2.0"',
  );

/**
 * Whether an image names a fixed version: a tag other than `latest`, or a digest. Local
 * environments run any image (an imported stack keeps what compose ran); prod refuses unpinned
 * ones (model/readiness.ts), since `latest` changes under a running stack.
 */
export function pinnedImage(ref: string): boolean {
  return /:[\w][\w.-]*$|@sha256:/.test(ref.replace(/^[^/]*:[0-9]+\//, '')) && !/:latest$/.test(ref);
}
/**
 * A PostgreSQL database or role name, kept exactly as written: the init script quotes it, so
 * "yourUser" is the role yourUser (as the official image and libpq treat it), not youruser. ASCII
 * letters, digits, "_" and "-" only, so no quoting is ever needed in shells, URLs or file names;
 * 63 characters is PostgreSQL's limit (NAMEDATALEN - 1).
 */
export const PG_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,62}$/;
export const pgName = z
  .string()
  .regex(PG_NAME, 'must be a PostgreSQL name: 1 to 63 letters, digits, "_" or "-", starting with a letter or "_" (no quotes, spaces or other characters; case is kept)');
/** Role names PostgreSQL refuses even quoted. */
export function reservedRole(name: string): boolean {
  return name === 'public' || name === 'none' || name.startsWith('pg_');
}
export const httpPath = z.string().regex(/^\/[^\s]*$/, 'must be an absolute HTTP path such as "/health"');
// Ports below 1024 are bound without root: the pod sets net.ipv4.ip_unprivileged_port_start (charts/pod.ts).
export const port = z.number().int().min(1, 'must be a port number from 1 to 65535').max(65535, 'must be a port number from 1 to 65535');
export const command = z.array(z.string().min(1)).min(1, 'must hold at least one word');
export const cron = z
  .string()
  .regex(/^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|(\S+\s+){4}\S+)$/, 'must be a five-field cron expression such as "0 0 * * *"');
export const hostname = z
  .string()
  .regex(/^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'must be a fully qualified host name such as "data.example.com"');
/** A server's address as clients dial it: a host name (one label or more) or an IPv4 address. */
export const serverHost = z
  .string()
  .max(253, 'must be at most 253 characters')
  .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/, 'must be a lower-case host name or IPv4 address such as "db.example.com" or "10.0.4.12"');
export const routePath = z.string().regex(/^\/([-a-zA-Z0-9._~]+(\/[-a-zA-Z0-9._~]+)*)?$/, 'must be a path prefix such as "/" or "/api" (no trailing slash)');
export const duration = z.string().regex(/^[0-9]+(ms|s|m|h)$/, 'must be a duration such as "10s" or "5m"');
export const uid = z.number().int().min(10000, 'must be at least 10000 (kube-score and Checkov reject lower ids)').max(2147483647);

export const SECRET_LOOKING = /(PASSWORD|PASSWD|_PASS$|^PASS$|TOKEN|SECRET|_KEY$|^KEY$|APIKEY|CREDENTIAL)/i;

/** A value taken from a Kubernetes Secret: `{ secret, key }` or the short form "secret/key". */
export const secretRef = z
  .union([
    z.strictObject({
      secret: dnsLabel.meta({ description: 'Name of the Secret in the stack\'s namespace.' }),
      key: z.string().regex(/^[-._a-zA-Z0-9]+$/, 'must be a Secret key').meta({ description: 'Key inside the Secret.' }),
    }),
    z
      .string()
      .regex(/^[a-z]([-a-z0-9]*[a-z0-9])?\/[-._a-zA-Z0-9]+$/, 'must be "secret-name/key"')
      .transform((s) => ({ secret: s.split('/')[0], key: s.split('/')[1] })),
  ])
  .meta({ id: 'SecretRef', description: 'A value taken from a Kubernetes Secret: `{secret, key}` or the short form "secret-name/key".' });

export const resources = z
  .strictObject({
    requests: z
      .strictObject({
        cpu: quantity.meta({ description: 'CPU the scheduler reserves, e.g. "250m".' }),
        memory: quantity.meta({ description: 'Memory the scheduler reserves, e.g. "256Mi".' }),
        ephemeralStorage: quantity.optional().meta({ description: 'Local disk (emptyDirs, logs) the scheduler reserves. Default: the preset\'s.' }),
      })
      .meta({ description: 'What the scheduler reserves for the container.' }),
    limits: z
      .strictObject({
        cpu: quantity.optional().meta({ description: 'CPU cap; unset, the container is not throttled. Default: unset.' }),
        memory: quantity.meta({ description: 'Memory cap; above it the container is OOM-killed.' }),
        ephemeralStorage: quantity.optional().meta({ description: 'Local disk cap; above it the pod is evicted. Default: the preset\'s.' }),
      })
      .meta({ description: 'Caps the container may not exceed.' }),
  })
  .meta({ id: 'Resources', description: 'CPU, memory and ephemeral-storage requests and limits of the container.' });

/** "api uses postgres": connection settings, network flow and ordering all come from this. */
export const relation = z
  .union([
    dnsLabel.transform((to) => ({ to })),
    z.strictObject({
      to: dnsLabel.meta({ description: 'The component this one talks to.' }),
      database: pgName
        .optional()
        .meta({ description: 'PostgreSQL: the database to use. Default: the target\'s first database.' }),
      access: z
        .enum(['read-write', 'read-only'])
        .optional()
        .meta({ description: 'PostgreSQL: `read-only` gets a login that can only SELECT.', default: 'read-write' }),
      redisDb: z.number().int().min(0).max(15).optional().meta({ description: 'Redis: the logical database index.', default: 0 }),
      env: envName.optional().meta({ description: 'Name of the connection-URL variable. Default: DATABASE_URL for PostgreSQL, REDIS_URL for Redis.' }),
      scheme: z
        .string()
        .regex(/^[a-z][a-z0-9+.-]*$/, 'must be a URL scheme such as "postgresql+asyncpg"')
        .optional()
        .meta({ description: 'Scheme of the connection URL, e.g. "postgresql+asyncpg" for SQLAlchemy\'s asyncpg driver. Default: postgresql, redis or http.' }),
    }),
  ])
  .meta({
    id: 'Relation',
    description: 'A component this one talks to: its name, or an object with connection details. Connection variables, NetworkPolicy flows and start order all follow from it.',
  });
export type RelationInput = z.input<typeof relation>;

export const env = z.record(envName, z.string()).superRefine((vars, ctx) => {
  for (const name of Object.keys(vars)) {
    // NAME_FILE holds the path of a mounted secret file (the postgres image's convention), not the secret.
    if (SECRET_LOOKING.test(name) && !name.endsWith('_FILE')) {
      ctx.addIssue({
        code: 'custom',
        path: [name],
        message: `looks like a secret; move it to secretEnv (e.g. ${name}: my-secret/${name.toLowerCase().replace(/_/g, '-')})`,
      });
    }
  }
});

export const absPath = z.string().regex(/^\/[^\s]*$/, 'must be an absolute path');
export const portName = z
  .string()
  .regex(/^[a-z]([-a-z0-9]{0,13}[a-z0-9])?$/, 'must be a port name: lower-case letters, digits and "-", at most 15 characters');

/** A further port a workload serves, by name (Service and container port names). */
export const namedPort = z.strictObject({ name: portName.meta({ description: 'Port name in the Service and the container (at most 15 characters).' }), port: port.meta({ description: 'Container port.' }) });

/**
 * How Kubernetes checks the container: readiness (taken out of rotation), liveness (restarted) and
 * a startup allowance before liveness applies. `false` turns all three off.
 */
export const probe = z
  .union([
    z.literal(false),
    z.strictObject({
      command: command
        .optional()
        .meta({
          description:
            'Healthy when this command exits 0; give ["sh", "-c", "..."] for shell syntax. Default: an HTTP GET on the health path (web, continuous worker) or a TCP connect to the first port (stateful).',
        }),
      tcpPort: z.number().int().min(1).max(65535).optional().meta({ description: 'Healthy when this port accepts a TCP connection. Default: unset.' }),
      periodSeconds: z.number().int().min(1).max(3600).optional().meta({ description: 'Seconds between readiness checks; liveness checks run half as often.', default: 10 }),
      timeoutSeconds: z.number().int().min(1).max(600).optional().meta({ description: 'Seconds one check may take.', default: 5 }),
      failureThreshold: z.number().int().min(1).max(100).optional().meta({ description: 'Failed checks in a row before the container counts as unready or is restarted.', default: 3 }),
      startupSeconds: z.number().int().min(5).max(3600).optional().meta({ description: 'Seconds the container may take to become healthy before liveness checks start.', default: 120 }),
    }),
  ])
  .meta({
    id: 'Probe',
    description:
      'How Kubernetes checks the container: readiness (taken out of rotation), liveness (restarted) and a startup allowance before liveness applies. `false` turns all three off.',
  });
export type Probe = z.output<typeof probe>;

/** A shared volume (the stack's top-level `volumes`) mounted into a workload. */
export const volumeMount = z
  .strictObject({
    volume: dnsLabel.meta({ description: 'Name of the volume in the stack\'s `volumes`.' }),
    path: absPath.meta({ description: 'Where the volume is mounted in the container.' }),
    readOnly: z.boolean().optional().meta({ description: 'Mount it read-only.', default: false }),
    subPath: z
      .string()
      .regex(/^[^/\s][^\s]*$/, 'must be a relative path')
      .optional()
      .meta({ description: 'Mount only this directory of the volume. Default: the whole volume.' }),
  })
  .meta({ id: 'VolumeMount', description: 'A shared volume (the stack\'s top-level `volumes`) mounted into a workload.' });

/** A path below the spec file's folder or next to it, written the same on every machine. */
const relativePath = z
  .string()
  .regex(/^(?![/~])(?![A-Za-z]:)(?!.*:\/\/)[^\\\u0000-\u001f]+$/, 'must be a path relative to the spec file\'s folder, with "/" between folders, such as "." or "./api"');

/** Build arguments are kept in the image's history, so secret-looking names are refused as in env. */
const buildArgs = z.record(envName, z.string()).superRefine((vars, ctx) => {
  for (const name of Object.keys(vars)) {
    if (SECRET_LOOKING.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'looks like a secret; build arguments stay readable in the image history: pass it as a build secret, outside the spec' });
  }
});

/** How the development loop (`stackport dev`) builds a workload's image from source and live-updates it. */
export const build = z
  .strictObject({
    context: relativePath.meta({ description: 'Folder sent to the image build, relative to the spec file\'s folder (compose `build.context`).' }),
    dockerfile: relativePath.optional().meta({ description: 'Dockerfile, relative to the context.', default: 'Dockerfile' }),
    target: z
      .string()
      .regex(/^[A-Za-z0-9][-A-Za-z0-9_.]*$/, 'must be a build stage name such as "api"')
      .optional()
      .meta({ description: 'Stage of a multi-stage Dockerfile to build. Default: the last stage.' }),
    args: buildArgs.optional().meta({ description: 'Build arguments (`ARG` in the Dockerfile). Secret-looking names are rejected: the values stay in the image history. Default: none.' }),
    sync: z
      .array(
        z.strictObject({
          from: relativePath.meta({ description: 'Source folder or file, relative to the spec file\'s folder; must lie inside the context.' }),
          to: absPath.meta({ description: 'The folder it is in the container. The dev manifests (`synth --live-sync`, which `stackport dev` uses) make that folder, and only it, writable: a copy seeded from the image.' }),
        }),
      )
      .optional()
      .meta({
        description:
          'Source folders copied into the running container when they change, instead of rebuilding the image (the hot-reload bind mounts of compose, such as ./app:/app). The app reloads them itself (uvicorn --reload, Streamlit, Flask debug). Default: none: every change rebuilds the image.',
      }),
  })
  .meta({
    id: 'Build',
    description: 'How `stackport dev` builds the image from source (Tilt or Skaffold) and which source folders it syncs into the running container. Synthesis ignores it: the manifests run `image`, which the build is tagged as.',
  });

/** Fields every workload (web, worker, job) shares. */
export const workloadFields = {
  image: image.meta({ description: 'Container image reference, e.g. "ghcr.io/acme/api:1.2.0" (prod refuses untagged and `latest` images).' }),
  command: command.optional().meta({ description: 'Replaces the image\'s entrypoint. Default: the image\'s.' }),
  args: z.array(z.string()).optional().meta({ description: 'Arguments to the command (the image\'s CMD when command is unset). Default: the image\'s.' }),
  env: env.optional().meta({ description: 'Plain environment variables. Names that look like secrets are rejected here (use secretEnv).' }),
  secretEnv: z.record(envName, secretRef).optional().meta({ description: 'Environment variables read from Secrets (API keys such as FRED or FMP).' }),
  uses: z.array(relation).optional().meta({ description: 'Components this one talks to. Default: none.' }),
  after: z.array(dnsLabel).optional().meta({ description: 'One-off jobs that must have completed before this starts (e.g. migrate). Default: none.' }),
  writablePaths: z
    .array(z.string().regex(/^\/[^\s]*$/, 'must be an absolute path'))
    .optional()
    .meta({ description: 'Directories the process writes to; each gets an emptyDir since the root filesystem is read-only.', default: ['/tmp'] }),
  egress: z
    .array(
      z.strictObject({
        cidr: z.string().regex(/^[0-9.]+\/[0-9]{1,2}$/, 'must be an IPv4 CIDR').meta({ description: 'Address range, e.g. "0.0.0.0/0".' }),
        ports: z.array(z.number().int().min(1).max(65535)).min(1).meta({ description: 'TCP ports allowed to that range, e.g. [443].' }),
      }),
    )
    .optional()
    .meta({ description: 'Outside endpoints this component calls (outbound HTTPS to data APIs). Default: none.' }),
  runAsUser: uid.optional().meta({ description: 'User and group id the container runs as (at least 10000).', default: 10001 }),
  resources: resources.optional().meta({ description: 'Requests and limits. Default: the environment preset\'s for this kind of component.' }),
  envFrom: z.array(dnsLabel).optional().meta({ description: 'Entries of the stack\'s `envFiles` whose variables this component gets (its own env wins). Default: none.' }),
  volumes: z.array(volumeMount).optional().meta({ description: 'Shared volumes mounted here. Default: none.' }),
  files: z
    .record(absPath, z.string())
    .optional()
    .meta({ description: 'Read-only files at these paths with this content (config files), from the ConfigMap `<component>-files`. Default: none.' }),
  secretFiles: z.record(absPath, secretRef).optional().meta({ description: 'Read-only files at these paths holding a Secret key (compose file secrets). Default: none.' }),
  build: build.optional().meta({ description: 'How `stackport dev` builds `image` from source and live-updates it while you edit. Synthesis ignores it. Default: none: the image is pulled, or loaded into the cluster by hand.' }),
};
