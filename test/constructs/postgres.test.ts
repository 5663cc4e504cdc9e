import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { container, envOf, find, has, manifests, manifestsOf, podSpec } from '../support/manifests';

describe('Postgres', () => {
  const objs = manifests();
  const sts = find(objs, 'StatefulSet', 'postgres');
  const pod = podSpec(sts);
  const pg = container(sts);

  it('runs the official image as uid/gid 10999, never root, with a read-only root filesystem', () => {
    expect(pg.image).toBe('postgres:16.4');
    expect(pod.securityContext).toMatchObject({ runAsUser: 10999, runAsGroup: 10999, fsGroup: 10999, runAsNonRoot: true });
    expect(pg.securityContext).toMatchObject({ runAsUser: 10999, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
  });

  it('keeps data in a PGDATA subdirectory of a claim template, retained on delete and scale-down', () => {
    expect(envOf(pg).PGDATA).toBe('/var/lib/postgresql/data/pgdata');
    expect(pg.volumeMounts).toContainEqual({ name: 'data', mountPath: '/var/lib/postgresql/data' });
    expect(sts.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
    const claim = sts.spec.volumeClaimTemplates[0];
    expect(claim.metadata.name).toBe('data');
    expect(claim.spec).toMatchObject({ accessModes: ['ReadWriteOnce'], storageClassName: 'standard', resources: { requests: { storage: '2Gi' } } });
    // A claim template is not also a pod volume (that would be a second, conflicting claim).
    expect(pod.volumes.map((v: any) => v.name)).not.toContain('data');
  });

  it('makes the places the image writes writable: /tmp (nss_wrapper), the socket dir, and /dev/shm in memory', () => {
    const mounts = Object.fromEntries(pg.volumeMounts.map((m: any) => [m.mountPath, m.name]));
    const volumes = Object.fromEntries(pod.volumes.map((v: any) => [v.name, v]));
    expect(volumes[mounts['/tmp']].emptyDir).toBeDefined();
    expect(volumes[mounts['/var/run/postgresql']].emptyDir).toBeDefined();
    expect(volumes[mounts['/dev/shm']].emptyDir).toEqual({ medium: 'Memory', sizeLimit: '256Mi' });
  });

  it('reads the superuser password from a Secret file, not an env value', () => {
    const env = envOf(pg);
    expect(env.POSTGRES_PASSWORD_FILE).toBe('/run/secrets/postgres/password');
    expect(env.POSTGRES_PASSWORD).toBeUndefined();
    const superuser = pod.volumes.find((v: any) => v.name === 'superuser');
    expect(superuser.secret.secretName).toBe('postgres-superuser');
  });

  it('probes with pg_isready: readiness over TCP (the init server is socket-only), liveness over the socket', () => {
    expect(pg.readinessProbe.exec.command).toEqual(['pg_isready', '-q', '-h', '127.0.0.1', '-p', '5432', '-U', 'postgres', '-d', 'postgres']);
    expect(pg.livenessProbe.exec.command).toEqual(['pg_isready', '-q', '-h', '/var/run/postgresql', '-p', '5432', '-U', 'postgres', '-d', 'postgres']);
    // No preStop: stopping the server from a hook ends the main process and kills the hook (exit 137).
    expect(pg.lifecycle).toBeUndefined();
  });

  it('runs a password-sync sidecar that re-applies the logins script over the trusted socket, once the server takes TCP', () => {
    const [sidecar] = pod.initContainers;
    expect(sidecar).toMatchObject({ name: 'password-sync', image: pg.image, restartPolicy: 'Always' });
    expect(sidecar.securityContext).toMatchObject({ runAsUser: 10999, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(sidecar.volumeMounts.map((m: any) => m.mountPath)).toEqual(['/tmp', '/var/run/postgresql', '/docker-entrypoint-initdb.d', '/run/secrets/postgres', '/run/stackport/logins']);
    expect(envOf(sidecar)).toEqual({ POSTGRES_USER: 'postgres', PGHOST: '/var/run/postgresql' });
    expect(sidecar.command[2]).toContain('pg_isready -q -h 127.0.0.1 -p 5432');
    expect(sidecar.command[2]).toContain('bash "/docker-entrypoint-initdb.d/10-stackport-logins.sh"');
  });

  it('asks the server whether it takes TCP only when the script or a password file changed, not on every look', async () => {
    // The sidecar's loop, run by sh with stand-ins that count their calls, looking every 50 ms.
    const dir = mkdtempSync(join(tmpdir(), 'stackport-password-sync-'));
    try {
      mkdirSync(join(dir, 'bin'));
      mkdirSync(join(dir, 'logins'));
      const tool = (name: string, body: string) => {
        writeFileSync(join(dir, 'bin', name), `#!/bin/sh\n${body}\n`);
        chmodSync(join(dir, 'bin', name), 0o755);
      };
      tool('pg_isready', `echo call >> '${dir}/pg_isready.calls'`);
      writeFileSync(join(dir, 'logins.sh'), `echo run >> '${dir}/script.runs'\n`);
      writeFileSync(join(dir, 'superuser'), 'one');
      writeFileSync(join(dir, 'logins', 'app'), 'one');
      const loop = pod.initContainers[0].command[2]
        .replaceAll('/docker-entrypoint-initdb.d/10-stackport-logins.sh', join(dir, 'logins.sh'))
        .replaceAll('/run/secrets/postgres/password', join(dir, 'superuser'))
        .replaceAll('/run/stackport/logins', join(dir, 'logins'))
        .replaceAll('/tmp/password-sync.log', join(dir, 'sync.log'))
        .replace(/sleep \d+/, 'sleep 0.05');
      const sh = spawn('sh', ['-c', loop], { env: { PATH: `${join(dir, 'bin')}:/usr/bin:/bin` }, stdio: 'ignore' });
      const calls = (f: string) => readFileSync(join(dir, f), 'utf8').trim().split('\n').length;
      const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
      try {
        await pause(700);
        expect([calls('pg_isready.calls'), calls('script.runs')]).toEqual([1, 1]);
        writeFileSync(join(dir, 'logins', 'app'), 'two'); // a rotated password
        await pause(700);
        expect([calls('pg_isready.calls'), calls('script.runs')]).toEqual([2, 2]);
      } finally {
        sh.kill();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('has a headless Service for the set and a client Service on 5432', () => {
    expect(sts.spec.serviceName).toBe('postgres-headless');
    expect(find(objs, 'Service', 'postgres-headless').spec.clusterIP).toBe('None');
    expect(find(objs, 'Service', 'postgres').spec.ports[0]).toMatchObject({ name: 'postgres', port: 5432, targetPort: 'postgres' });
  });

  it('creates databases, owners and read-only roles from the spec and its relations, passwords from mounted files', () => {
    const script = find(objs, 'ConfigMap', 'postgres-init').data['10-stackport-logins.sh'];
    for (const user of ['app', 'pipeline', 'app_ro', 'features_ro']) {
      expect(script).toContain(`\\set pw \`cat /run/stackport/logins/${user}\``);
      expect(script).toContain(`ALTER ROLE "${user}" WITH LOGIN PASSWORD :'pw';`);
    }
    expect(script).toContain(`SELECT NOT EXISTS (SELECT FROM pg_database WHERE datname = 'app') AS missing \\gset\n\\if :missing\nCREATE DATABASE "app" OWNER "app";\nREVOKE ALL ON DATABASE "app" FROM PUBLIC;\n\\else\nGRANT ALL ON DATABASE "app" TO "app";`);
    expect(script).toContain(`CREATE DATABASE "features" OWNER "pipeline";`);
    expect(script).toContain('ALTER DEFAULT PRIVILEGES FOR ROLE "pipeline" IN SCHEMA public GRANT SELECT ON TABLES TO "features_ro";');
    expect(script).not.toMatch(/PASSWORD '[^:]/);
    const logins = pod.volumes.find((v: any) => v.name === 'logins').projected.sources.map((s: any) => s.secret.name);
    expect(logins.sort()).toEqual(['postgres-user-app', 'postgres-user-app-ro', 'postgres-user-features-ro', 'postgres-user-pipeline']);
    expect(pod.volumes.find((v: any) => v.name === 'init').configMap.defaultMode).toBe(0o555);
  });

  it('grants a listed database that already exists (the maintenance database) to its login, never locks it', () => {
    const objs2 = manifestsOf({ name: 'tools', components: { db: { kind: 'postgres', databases: [{ name: 'postgres', owner: 'tools' }] } } });
    const script: string = find(objs2, 'ConfigMap', 'db-init').data['10-stackport-logins.sh'];
    const [created, existing] = script.split('\\else\n');
    expect(created).toContain('REVOKE ALL ON DATABASE "postgres" FROM PUBLIC;');
    expect(existing.split('\\endif')[0]).toBe('GRANT ALL ON DATABASE "postgres" TO "tools";\n\\connect \'postgres\'\nGRANT ALL ON SCHEMA public TO "tools";\n\\connect postgres\n');
  });

  it('keeps the case of logins and databases: every name quoted, literals escaped, Secrets lower-case', () => {
    const objs2 = manifestsOf({
      name: 'tools',
      components: {
        db: { kind: 'postgres', databases: [{ name: 'postgres', owner: 'yourUser' }, { name: 'Sales-EU', owner: 'yourUser' }] },
        report: { kind: 'job', image: 'ghcr.io/acme/report:1.0.0', uses: [{ to: 'db', database: 'Sales-EU', access: 'read-only' }] },
      },
    });
    const script: string = find(objs2, 'ConfigMap', 'db-init').data['10-stackport-logins.sh'];
    expect(script).toContain(`\\set pw \`cat /run/stackport/logins/yourUser\`\nSELECT 'CREATE ROLE "yourUser" LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'yourUser')\\gexec\nALTER ROLE "yourUser" WITH LOGIN PASSWORD :'pw';`);
    // The maintenance database exists: granted to yourUser, never locked; quoting does not change that.
    expect(script).toContain(`\\else\nGRANT ALL ON DATABASE "postgres" TO "yourUser";\n\\connect 'postgres'\nGRANT ALL ON SCHEMA public TO "yourUser";\n\\connect postgres\n\\endif`);
    expect(script).toContain(`WHERE datname = 'Sales-EU') AS missing \\gset\n\\if :missing\nCREATE DATABASE "Sales-EU" OWNER "yourUser";\nREVOKE ALL ON DATABASE "Sales-EU" FROM PUBLIC;`);
    expect(script).toContain(`GRANT CONNECT ON DATABASE "Sales-EU" TO "Sales-EU_ro";\n\\connect 'Sales-EU'\n`);
    expect(script).toContain('ALTER DEFAULT PRIVILEGES FOR ROLE "yourUser" IN SCHEMA public GRANT SELECT ON TABLES TO "Sales-EU_ro";');
    expect(script).not.toMatch(/(ROLE|DATABASE|TO|OWNER|FOR ROLE) (youruser|yourUser|Sales)/);
    const pod2 = podSpec(find(objs2, 'StatefulSet', 'db'));
    const items = pod2.volumes.find((v: any) => v.name === 'logins').projected.sources.map((s: any) => [s.secret.name, s.secret.items[0].path]);
    expect(items).toEqual([['db-user-youruser', 'yourUser'], ['db-user-sales-eu-ro', 'Sales-EU_ro']]);
    const env = envOf(container(find(objs2, 'Job', 'report')));
    expect(env.DATABASE_URL).toBe('postgresql://Sales-EU_ro:$(DATABASE_PASSWORD)@db:5432/Sales-EU');
  });

  it('uses the preset storage class per environment', () => {
    const claim = (env: 'k3d' | 'prod') => find(manifests(undefined, env), 'StatefulSet', 'postgres').spec.volumeClaimTemplates[0].spec;
    expect(claim('k3d').storageClassName).toBe('local-path');
    expect(claim('prod').storageClassName).toBeUndefined();
    expect(claim('prod').resources.requests.storage).toBe('20Gi');
  });

  it('runs nothing for an external server; clients connect to its host', () => {
    const ext = manifestsOf({
      name: 'reports',
      components: {
        db: { kind: 'postgres', external: { host: 'db.internal.example.com', port: 6432 }, databases: [{ name: 'reports', owner: 'reports' }] },
        web: { kind: 'web', role: 'dashboard', image: 'ghcr.io/acme/dash:3.1.0', port: 8050, healthPath: '/', uses: [{ to: 'db', access: 'read-only' }] },
      },
    });
    expect(has(ext, 'StatefulSet', 'db')).toBe(false);
    expect(has(ext, 'Service', 'db')).toBe(false);
    expect(envOf(container(find(ext, 'Deployment', 'web'))).DATABASE_URL).toBe('postgresql://reports_ro:$(DATABASE_PASSWORD)@db.internal.example.com:6432/reports');
  });
});

describe('PostgresBackup', () => {
  it('is off on kind and on in prod', () => {
    expect(has(manifests(undefined, 'kind'), 'CronJob', 'postgres-backup')).toBe(false);
    expect(has(manifests(undefined, 'prod'), 'CronJob', 'postgres-backup')).toBe(true);
  });

  it('dumps every database into its own claim, keeps 7 of each, and writes atomically', () => {
    const prod = manifests(undefined, 'prod');
    const cron = find(prod, 'CronJob', 'postgres-backup');
    expect(cron.spec).toMatchObject({ schedule: '30 1 * * *', concurrencyPolicy: 'Forbid' });
    expect(find(prod, 'PersistentVolumeClaim', 'postgres-backups').spec.resources.requests.storage).toBe('50Gi');
    const pod = podSpec(cron);
    expect(pod.volumes.find((v: any) => v.name === 'backups').persistentVolumeClaim.claimName).toBe('postgres-backups');
    const script = container(cron).command[2];
    expect(script).toContain('for db in app features; do');
    expect(script).toContain('pg_dump -h postgres -p 5432 -U postgres -d "$db" -Fc -f "/backups/$db-$stamp.dump.partial"');
    expect(script).toContain('mv "/backups/$db-$stamp.dump.partial" "/backups/$db-$stamp.dump"');
    expect(script).toContain('tail -n +8');
    expect(script).toContain('export PGPASSWORD="$(cat /run/secrets/postgres/password)"');
    expect(pod.securityContext.runAsUser).toBe(10999);
  });

  it('can be turned on locally through the environment override', () => {
    const objs = manifestsOf({
      name: 'lab',
      components: { db: { kind: 'postgres', databases: [{ name: 'lab', owner: 'lab' }], backup: { retain: 3 } } },
      environments: { kind: { components: { db: { backup: { enabled: true } } } } },
    });
    expect(container(find(objs, 'CronJob', 'db-backup')).command[2]).toContain('tail -n +4');
  });

  it('keeps the case of database names, and prunes only the dumps of the database it names', () => {
    const objs = manifestsOf({
      name: 'lab',
      components: { db: { kind: 'postgres', databases: [{ name: 'Sales', owner: 'lab' }, { name: 'Sales-2024', owner: 'lab' }], backup: { enabled: true } } },
    });
    const script = container(find(objs, 'CronJob', 'db-backup')).command[2];
    expect(script).toContain('for db in Sales Sales-2024; do');
    // "Sales-*" would also match Sales-2024's dumps; only the timestamp may follow the name.
    expect(script).toContain('prune() { ls -1t /backups/"$1"-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z."$2" 2>/dev/null');
  });
});
