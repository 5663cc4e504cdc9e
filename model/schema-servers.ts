/**
 * The server components of the stack spec (PostgreSQL, Redis, pgAdmin and any other stateful
 * server); model/schema.ts assembles them with the workloads into the stack.
 */
import { z } from 'zod';
import { absPath, cron, dnsLabel, image, pgName, port, portName, probe, quantity, reservedRole, resources, serverHost, uid, workloadFields } from './fields';
import { EVICTION_POLICIES } from './redis-memory';

/**
 * A server outside the cluster (a managed database, a host on the network): clients connect to its
 * host and port, NetworkPolicies let them out to it, and nothing of it runs in the cluster.
 */
function externalServer(engine: string, defaultPort: number, passwords: string) {
  return z
    .strictObject({
      host: serverHost.meta({ description: 'Host name or IPv4 address of the server, as the cluster\'s pods resolve it.' }),
      port: z.number().int().min(1).max(65535).optional().meta({ description: 'Port of the server.', default: defaultPort }),
    })
    .optional()
    .meta({
      description: `Use a ${engine} server outside the cluster instead of running one: clients get its host and port, egress to it is allowed, and ${passwords} (never generated). Fields that describe the in-cluster server are then refused. Default: run one in the cluster.`,
    });
}

/** PostgreSQL refuses these role names even quoted. */
const pgRole = pgName.refine((s) => !reservedRole(s), 'is a name PostgreSQL reserves ("public", "none" and names starting with "pg_"): choose another login name');

export const postgresComponent = z
  .strictObject({
    kind: z.literal('postgres').meta({ description: 'A PostgreSQL server: a StatefulSet with its own volume.' }),
    image: image.optional().meta({ description: 'PostgreSQL image.', default: 'postgres:16.4' }),
    databases: z
      .array(
        z.strictObject({
          name: pgName.meta({ description: 'Database name, case kept ("MyApp" and "myapp" are two databases): letters, digits, "_" and "-", at most 63.' }),
          owner: pgRole.meta({
            description:
              'Login role that owns it, case kept as clients log in with it: letters, digits, "_" and "-", at most 63. Its password is in the Secret `<component>-user-<owner>` (lower-case, "_" as "-"), so two logins of one server may not differ only in case; the superuser `postgres` uses `<component>-superuser`.',
          }),
        }),
      )
      .min(1, 'must list at least one database')
      .meta({ description: 'Databases created at first start; each owner gets a login role.' }),
    storage: quantity.optional().meta({ description: 'Size of the data volume. Default: 2Gi locally, 20Gi in prod.' }),
    sharedMemory: quantity.optional().meta({ description: 'Size of the /dev/shm memory volume.', default: '256Mi' }),
    external: externalServer('PostgreSQL', 5432, 'its login passwords are Secrets you provide'),
    backup: z
      .strictObject({
        enabled: z.boolean().optional().meta({ description: 'Run the backup CronJob. Default: on in prod, off locally.' }),
        schedule: cron.optional().meta({ description: 'When to dump, a five-field cron expression.', default: '30 1 * * *' }),
        retain: z.number().int().min(1).max(365).optional().meta({ description: 'Dumps kept per database.', default: 7 }),
        storage: quantity.optional().meta({ description: 'Size of the backup volume. Default: 2Gi locally, 50Gi in prod.' }),
      })
      .optional()
      .meta({ description: 'Scheduled pg_dump of every database into its own volume. Default: on in prod, off locally.' }),
    runAsUser: uid.optional().meta({ description: 'User and group id the server runs as (at least 10000).', default: 10999 }),
    resources: resources.optional().meta({ description: 'Requests and limits. Default: the environment preset\'s.' }),
  })
  .meta({ id: 'PostgresComponent', title: 'postgres', description: 'A PostgreSQL server (or an external one): StatefulSet, Services, init script creating the databases and their logins.' });

export const redisComponent = z
  .strictObject({
    kind: z.literal('redis').meta({ description: 'A Redis server: a StatefulSet with an append-only file.' }),
    image: image.optional().meta({ description: 'Redis image.', default: 'redis:7.4' }),
    password: z.boolean().optional().meta({ description: 'Require a password read from the `<name>-auth` Secret (for an external server, the password it expects, which you provide).', default: true }),
    external: externalServer('Redis', 6379, 'its password (with `password`) is a Secret you provide'),
    storage: quantity.optional().meta({ description: 'Size of the data volume. Default: 512Mi locally, 2Gi in prod.' }),
    maxMemory: z
      .string()
      .regex(/^[0-9]+(kb|mb|gb)$/, 'must be a Redis size such as "128mb"')
      .optional()
      .meta({
        description: 'Redis `maxmemory`, e.g. "128mb". The container\'s memory limit must be at least twice this (preset limits are raised to fit). Default: half the memory limit.',
      }),
    cache: z
      .boolean()
      .optional()
      .meta({ description: 'The data is disposable (a cache, not a queue, broker or store): at the cap, Redis evicts the least recently used keys instead of refusing writes.', default: false }),
    evictionPolicy: z
      .enum(EVICTION_POLICIES)
      .optional()
      .meta({
        description:
          'Redis `maxmemory-policy`, when neither default fits. `noeviction` makes writes fail at the cap and loses nothing, which Celery/RQ brokers and session stores need. Default: allkeys-lru with `cache`, otherwise noeviction.',
      }),
    runAsUser: uid.optional().meta({ description: 'User and group id the server runs as (at least 10000).', default: 10999 }),
    resources: resources.optional().meta({ description: 'Requests and limits. Default: the environment preset\'s.' }),
  })
  .meta({ id: 'RedisComponent', title: 'redis', description: 'A Redis server (or an external one): StatefulSet, Services and redis.conf, password-protected, with a memory cap that fits its limit.' });

export const pgadminComponent = z
  .strictObject({
    kind: z.literal('pgadmin').meta({ description: 'pgAdmin, the PostgreSQL web console (local environments).' }),
    image: image.optional().meta({ description: 'pgAdmin image.', default: 'dpage/pgadmin4:9.17' }),
    email: z
      .string()
      .regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, 'must be an e-mail address')
      .optional()
      .meta({ description: 'Login e-mail; the password comes from the `<name>-login` Secret.', default: 'admin@example.com' }),
    servers: z.array(dnsLabel).optional().meta({ description: 'The PostgreSQL components to pre-register. Default: every in-cluster postgres.' }),
    runAsUser: uid.optional().meta({ description: 'User and group id pgAdmin runs as (at least 10000).', default: 10001 }),
    resources: resources.optional().meta({ description: 'Requests and limits. Default: the environment preset\'s.' }),
  })
  .meta({ id: 'PgadminComponent', title: 'pgadmin', description: 'pgAdmin with the stack\'s PostgreSQL servers pre-registered; on in kind and k3d, off in prod.' });

/**
 * Any other server that keeps data (MySQL, MariaDB, MongoDB): a StatefulSet with a claim template
 * per data directory, a client and a headless Service, hardened like every other pod.
 */
export const statefulComponent = z
  .strictObject({
    kind: z.literal('stateful').meta({ description: 'Any other server that keeps data: a StatefulSet.' }),
    image: workloadFields.image,
    command: workloadFields.command,
    args: workloadFields.args,
    env: workloadFields.env,
    secretEnv: workloadFields.secretEnv,
    envFrom: workloadFields.envFrom,
    files: workloadFields.files,
    secretFiles: workloadFields.secretFiles,
    writablePaths: workloadFields.writablePaths,
    uses: workloadFields.uses.meta({ description: 'Servers this one talks to (a broker to its coordinator): the same relations as workloads. Default: none.' }),
    ports: z
      .array(z.strictObject({ name: portName.meta({ description: 'Port name in the Services and the container (at most 15 characters).' }), port: port.meta({ description: 'Container port.' }) }))
      .min(1, 'must list at least one port')
      .meta({ description: 'Ports the server listens on; clients (`uses`) connect to the first.' }),
    data: z
      .array(
        z.strictObject({
          name: dnsLabel.meta({ description: 'Name of the claim template.' }),
          path: absPath.meta({ description: 'Directory mounted from the claim.' }),
          storage: quantity.optional().meta({ description: 'Size of the volume.', default: '1Gi' }),
        }),
      )
      .optional()
      .meta({ description: 'Directories kept across restarts, one claim template each. Default: none.' }),
    probe: probe.optional().meta({ description: 'Probe timings, or a command instead of the TCP check. Default: a TCP connect to the first port.' }),
    terminationGracePeriodSeconds: z.number().int().min(1).max(3600).optional().meta({ description: 'Seconds between SIGTERM and SIGKILL, time to flush to disk.', default: 60 }),
    runAsUser: uid.optional().meta({ description: 'User and group id the server runs as (at least 10000).', default: 10001 }),
    resources: resources.optional().meta({ description: 'Requests and limits. Default: the environment preset\'s.' }),
  })
  .meta({
    id: 'StatefulComponent',
    title: 'stateful',
    description: 'Any other server that keeps data (MySQL, MariaDB, MongoDB): a StatefulSet with a claim template per data directory, a client and a headless Service.',
  });
