import { Construct } from 'constructs';
import { k8s } from './k8s';
import type { PostgresComponent } from '../model/schema';
import type { Resolved, ResolvedStack } from '../model/presets';
import { POSTGRES_PORT, secretNames } from '../model/relations';
import { labelsFor, meta } from './labels';
import { podTemplate, quantity } from './pod';
import { POSTGRES_IMAGE, POSTGRES_UID } from './postgres';
import { waitForServer } from './waits';
import { shellQuote } from './workload';

export interface PostgresBackupProps {
  readonly stack: ResolvedStack;
  /** The in-cluster PostgreSQL whose databases are dumped. */
  readonly component: Resolved<PostgresComponent>;
}

const BACKUP_DIR = '/backups';

/**
 * Scheduled `pg_dump` of every database (custom format) plus the roles (`pg_dumpall --globals-only`)
 * into a volume of their own, keeping the newest `retain` dumps of each. A dump is written under a
 * temporary name and renamed when complete, so a failed run never leaves a truncated file.
 */
export class PostgresBackup extends Construct {
  readonly cronJob: k8s.KubeCronJob;
  readonly claim: k8s.KubePersistentVolumeClaim;

  constructor(scope: Construct, id: string, props: PostgresBackupProps) {
    super(scope, id);
    const { stack, component: c } = props;
    const name = `${c.name}-backup`;
    const image = c.image ?? POSTGRES_IMAGE;
    const labels = labelsFor(stack, name, 'backup', image);
    const backup = c.backup ?? {};

    this.claim = new k8s.KubePersistentVolumeClaim(this, 'claim', {
      metadata: meta(stack, `${c.name}-backups`, labels),
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: stack.storageClass,
        resources: { requests: { storage: quantity(backup.storage ?? stack.preset.storage.backup) } },
      },
    });

    this.cronJob = new k8s.KubeCronJob(this, 'cronjob', {
      metadata: meta(stack, name, labels),
      spec: {
        schedule: backup.schedule ?? '30 1 * * *',
        timeZone: 'Etc/UTC',
        concurrencyPolicy: 'Forbid',
        startingDeadlineSeconds: 600,
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          metadata: { labels },
          spec: {
            backoffLimit: 2,
            activeDeadlineSeconds: 3600,
            template: podTemplate({
              labels,
              uid: c.runAsUser ?? POSTGRES_UID,
              pull: stack,
              // Waits for the server, then retries a failed run in the same pod (see waits.ts).
              initContainers: [waitForServer(stack, name, c.name)!],
              restartPolicy: 'OnFailure',
              containers: [
                {
                  name: 'pg-dump',
                  image,
                  command: ['sh', '-c', backupScript(c.name, c.databases.map((d) => d.name), backup.retain ?? 7)],
                  env: [{ name: 'HOME', value: '/tmp' }],
                  resources: stack.preset.resources.backup,
                  volumeMounts: [
                    { name: 'backups', mountPath: BACKUP_DIR },
                    { name: 'superuser', mountPath: '/run/secrets/postgres', readOnly: true },
                  ],
                },
              ],
              volumes: [
                { name: 'backups', persistentVolumeClaim: { claimName: `${c.name}-backups` } },
                { name: 'superuser', secret: { secretName: secretNames.postgresSuperuser(c.name), defaultMode: 0o440 } },
              ],
            }),
          },
        },
      },
    });
  }
}

/** The `date -u +%Y%m%dT%H%M%SZ` stamp as a glob: database "app" must not prune "app-archive"'s dumps. */
const STAMP_GLOB = '[0-9]'.repeat(8) + 'T' + '[0-9]'.repeat(6) + 'Z';

/** The dump script; the password is read from the mounted Secret at run time, never from env. */
export function backupScript(host: string, databases: string[], retain: number): string {
  return [
    'set -eu',
    'export PGPASSWORD="$(cat /run/secrets/postgres/password)"',
    'stamp="$(date -u +%Y%m%dT%H%M%SZ)"',
    `prune() { ls -1t ${BACKUP_DIR}/"$1"-${STAMP_GLOB}."$2" 2>/dev/null | tail -n +${retain + 1} | xargs -r rm -f --; }`,
    `for db in ${databases.map(shellQuote).join(' ')}; do`,
    `  pg_dump -h ${host} -p ${POSTGRES_PORT} -U postgres -d "$db" -Fc -f "${BACKUP_DIR}/$db-$stamp.dump.partial"`,
    `  mv "${BACKUP_DIR}/$db-$stamp.dump.partial" "${BACKUP_DIR}/$db-$stamp.dump"`,
    '  prune "$db" dump',
    'done',
    `pg_dumpall -h ${host} -p ${POSTGRES_PORT} -U postgres --globals-only --no-role-passwords > "${BACKUP_DIR}/globals-$stamp.sql"`,
    'prune globals sql',
    `date -u +%s > "${BACKUP_DIR}/last-success"`,
  ].join('\n');
}
