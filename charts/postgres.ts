import { Construct } from 'constructs';
import { k8s } from './k8s';
import type { PostgresComponent } from '../model/schema';
import type { Resolved, ResolvedStack } from '../model/presets';
import { POSTGRES_PORT, postgresLogins, secretNames, type PostgresLogin } from '../model/relations';
import { dataService } from './data-service';
import { postgresPasswordSync } from './password-sync';
import { labelsFor, meta, selectorFor } from './labels';
import { execProbe, podTemplate, quantity } from './pod';
import { psqlArg, sqlIdent, sqlLiteral } from './sql';
import { shellQuote } from './workload';

export interface PostgresProps {
  readonly stack: ResolvedStack;
  readonly component: Resolved<PostgresComponent>;
}

export const POSTGRES_IMAGE = 'postgres:16.4';
/**
 * The official image's postgres user is 999; any uid works because its entrypoint fakes the passwd
 * entry initdb needs with nss_wrapper, writing into /tmp. 10999 keeps linters' uid >= 10000 rule.
 */
export const POSTGRES_UID = 10999;
const DATA_DIR = '/var/lib/postgresql/data';
/** initdb refuses a mount point that holds lost+found, and local-path volumes are 0777: use a subdirectory. */
export const PGDATA = `${DATA_DIR}/pgdata`;
const SUPERUSER_DIR = '/run/secrets/postgres';
const LOGINS_DIR = '/run/stackport/logins';
const INIT_DIR = '/docker-entrypoint-initdb.d';
const LOGINS_SCRIPT = '10-stackport-logins.sh';

/**
 * PostgreSQL as a StatefulSet with a claim template. Headless Service for the pod's stable name and
 * a client Service; superuser password from a Secret file (`POSTGRES_PASSWORD_FILE`); an init
 * script generated from the spec creates each database, its owner and the read-only roles the
 * relations ask for, and a sidecar runs it again whenever it or a password changes (rotation,
 * charts/password-sync.ts); `pg_isready` probes (readiness over TCP, so the socket-only init server is not
 * ready); a memory-backed /dev/shm; emptyDirs for the socket directory and /tmp under a read-only
 * root. Claims are retained when the set is deleted or scaled down. With `external`, nothing runs
 * here and clients connect to the external host.
 */
export class Postgres extends Construct {
  readonly statefulSet?: k8s.KubeStatefulSet;
  readonly service?: k8s.KubeService;
  readonly initScripts?: k8s.KubeConfigMap;

  constructor(scope: Construct, id: string, props: PostgresProps) {
    super(scope, id);
    const { stack, component: c } = props;
    if (c.external) return;
    const name = c.name;
    const image = c.image ?? POSTGRES_IMAGE;
    const labels = labelsFor(stack, name, 'database', image);
    const selector = selectorFor(stack, name);
    const logins = postgresLogins(stack.spec, name);

    this.initScripts = new k8s.KubeConfigMap(this, 'init', {
      metadata: meta(stack, `${name}-init`, labels),
      data: { [LOGINS_SCRIPT]: initScript(c, logins) },
    });

    const ready = ['pg_isready', '-q', '-h', '127.0.0.1', '-p', String(POSTGRES_PORT), '-U', 'postgres', '-d', 'postgres'];
    // -U matters: without it libpq looks up the OS user name, which uid 10999 does not have, and gives up.
    const alive = ['pg_isready', '-q', '-h', '/var/run/postgresql', '-p', String(POSTGRES_PORT), '-U', 'postgres', '-d', 'postgres'];
    ({ statefulSet: this.statefulSet, service: this.service } = dataService(this, {
      stack,
      name,
      labels,
      selector,
      ports: [{ name: 'postgres', port: POSTGRES_PORT }],
      claims: [{ name: 'data', storage: c.storage ?? '5Gi' }],
      template: podTemplate({
        labels,
        uid: c.runAsUser ?? POSTGRES_UID,
        pull: stack,
        writablePaths: ['/tmp', '/var/run/postgresql'],
        // Time for a fast shutdown's checkpoint. The image's STOPSIGNAL (SIGINT in the official image) asks
        // for it; a preStop `pg_ctl stop` would end the main process and so kill its own hook (exit 137).
        terminationGracePeriodSeconds: 60,
        initContainers: [
          postgresPasswordSync(stack, image, `${INIT_DIR}/${LOGINS_SCRIPT}`, [`${SUPERUSER_DIR}/password`, `${LOGINS_DIR}/*`], [
            { name: 'init', mountPath: INIT_DIR, readOnly: true },
            { name: 'superuser', mountPath: SUPERUSER_DIR, readOnly: true },
            { name: 'logins', mountPath: LOGINS_DIR, readOnly: true },
          ]),
        ],
        containers: [
          {
            name: 'postgres',
            image,
            env: [
              { name: 'POSTGRES_USER', value: 'postgres' },
              { name: 'POSTGRES_PASSWORD_FILE', value: `${SUPERUSER_DIR}/password` },
              { name: 'PGDATA', value: PGDATA },
            ],
            ports: [{ name: 'postgres', containerPort: POSTGRES_PORT }],
            resources: c.resources,
            volumeMounts: [
              { name: 'data', mountPath: DATA_DIR },
              { name: 'dshm', mountPath: '/dev/shm' },
              { name: 'init', mountPath: INIT_DIR, readOnly: true },
              { name: 'superuser', mountPath: SUPERUSER_DIR, readOnly: true },
              { name: 'logins', mountPath: LOGINS_DIR, readOnly: true },
            ],
            startupProbe: execProbe(alive, 5, 5, 60),
            readinessProbe: execProbe(ready, 10, 5, 3),
            livenessProbe: execProbe(alive, 20, 5, 6),
          },
        ],
        volumes: [
          { name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: quantity(c.sharedMemory ?? '256Mi') } },
          { name: 'init', configMap: { name: `${name}-init`, defaultMode: 0o555 } },
          { name: 'superuser', secret: { secretName: secretNames.postgresSuperuser(name), defaultMode: 0o440, items: [{ key: 'password', path: 'password' }] } },
          {
            name: 'logins',
            projected: {
              defaultMode: 0o440,
              sources: logins.map((l) => ({ secret: { name: l.secretName, items: [{ key: 'password', path: l.user }] } })),
            },
          },
        ],
      }),
    }));
  }
}

/**
 * Creates the login roles and databases, idempotently (only when missing; an existing database is
 * granted to its owner login instead of being locked), reading each
 * password from its mounted Secret file so no password is in the ConfigMap or the process list.
 * Read-only roles get CONNECT, USAGE and SELECT, also on tables the owner creates later. Names are
 * quoted everywhere (charts/sql.ts), so a login keeps the case clients log in with.
 */
export function initScript(c: PostgresComponent, logins: PostgresLogin[]): string {
  // The superuser's own password: initdb set it; run again (password-sync), a rotated one takes over.
  const sql: string[] = [`\\set pw \`cat ${shellQuote(`${SUPERUSER_DIR}/password`)}\``, 'ALTER ROLE postgres WITH PASSWORD :\'pw\';'];
  for (const l of logins) {
    const user = sqlIdent(l.user);
    sql.push(`\\set pw \`cat ${shellQuote(`${LOGINS_DIR}/${l.user}`)}\``);
    sql.push(`SELECT ${sqlLiteral(`CREATE ROLE ${user} LOGIN`)} WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${sqlLiteral(l.user)})\\gexec`);
    sql.push(`ALTER ROLE ${user} WITH LOGIN PASSWORD :'pw';`);
  }
  sql.push('\\unset pw');
  for (const db of c.databases) {
    const [name, owner] = [sqlIdent(db.name), sqlIdent(db.owner)];
    // A database that already exists (the maintenance database "postgres", or one a restore made) is
    // granted to its login, never locked: revoking PUBLIC there would cut off whoever else uses it.
    sql.push(`SELECT NOT EXISTS (SELECT FROM pg_database WHERE datname = ${sqlLiteral(db.name)}) AS missing \\gset`);
    sql.push('\\if :missing');
    sql.push(`CREATE DATABASE ${name} OWNER ${owner};`);
    sql.push(`REVOKE ALL ON DATABASE ${name} FROM PUBLIC;`);
    sql.push('\\else');
    sql.push(`GRANT ALL ON DATABASE ${name} TO ${owner};`);
    // PostgreSQL 15+ lets only the owner create in schema public; the login needs it to migrate.
    sql.push(`\\connect ${psqlArg(db.name)}`);
    sql.push(`GRANT ALL ON SCHEMA public TO ${owner};`);
    sql.push('\\connect postgres');
    sql.push('\\endif');
  }
  for (const l of logins.filter((x) => x.access === 'read-only')) {
    const owner = sqlIdent(c.databases.find((d) => d.name === l.database)!.owner);
    const user = sqlIdent(l.user);
    sql.push(`GRANT CONNECT ON DATABASE ${sqlIdent(l.database)} TO ${user};`);
    sql.push(`\\connect ${psqlArg(l.database)}`);
    sql.push(`GRANT USAGE ON SCHEMA public TO ${user};`);
    sql.push(`GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${user};`);
    sql.push(`ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} IN SCHEMA public GRANT SELECT ON TABLES TO ${user};`);
    sql.push('\\connect postgres');
  }
  return [
    '#!/bin/bash',
    '# Generated by stackport from the stack spec: login roles, databases and read-only grants.',
    'set -euo pipefail',
    'psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<\'EOSQL\'',
    ...sql,
    'EOSQL',
    '',
  ].join('\n');
}
