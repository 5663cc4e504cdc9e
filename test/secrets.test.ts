import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { planSecrets, readExisting } from '../ops/secrets';
import { referenceStack } from '../model/reference';
import { DNS_LABEL } from '../model/fields';
import { defineStack } from '../model/load';
import { loginLabel, secretNames } from '../model/relations';

const names = (objs: any[]) => objs.map((o) => o.metadata.name).sort();

describe('secrets command', () => {
  it('plans every Secret the kind stack references, with random URL-safe passwords', () => {
    const { objects, warnings } = planSecrets(referenceStack, 'kind', new Map(), {});
    expect(names(objects)).toEqual([
      'external-apis', 'pgadmin-login', 'postgres-superuser', 'postgres-user-app', 'postgres-user-app-ro',
      'postgres-user-features-ro', 'postgres-user-pipeline', 'redis-auth',
    ]);
    const pw = (objects.find((o: any) => o.metadata.name === 'postgres-user-app') as any).stringData.password;
    expect(pw).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain('set FMP_API_KEY');
  });

  it('keeps existing values so PostgreSQL passwords are never rotated by a re-run', () => {
    const first = planSecrets(referenceStack, 'kind', new Map(), {}).objects as any[];
    const existing = new Map(first.map((o) => [o.metadata.name, o.stringData]));
    const second = planSecrets(referenceStack, 'kind', existing, {}).objects as any[];
    expect(second).toEqual(first);
  });

  it('takes provided keys from the environment and refuses to invent them for prod', () => {
    expect(() => planSecrets(referenceStack, 'prod', new Map(), {})).toThrow('environment prod needs values for: external-apis/fmp-api-key (set FMP_API_KEY)');
    const { objects } = planSecrets(referenceStack, 'prod', new Map(), { FRED_API_KEY: 'fred-123', FMP_API_KEY: 'fmp-456' });
    expect((objects.find((o: any) => o.metadata.name === 'external-apis') as any).stringData).toEqual({ 'fmp-api-key': 'fmp-456', 'fred-api-key': 'fred-123' });
    expect(names(objects)).not.toContain('pgadmin-login');
  });

  it('writes a 0600 file that a second run reads back unchanged', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stackport-secrets-'));
    const file = join(dir, 'kind.yaml');
    const run = () => execFileSync('node_modules/.bin/tsx', ['ops/secrets.ts', '--env', 'kind', '--out', file], { encoding: 'utf8', stdio: 'pipe' });
    run();
    const before = readFileSync(file, 'utf8');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    run();
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect(readExisting(file).get('redis-auth')?.password).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });
});

describe('login Secret names', () => {
  it('are DNS labels derived from the login: lower-case, "_" as "-", the superuser its own', () => {
    expect(loginLabel('yourUser')).toBe('youruser');
    expect(secretNames.postgresLogin('db', 'yourUser')).toBe('db-user-youruser');
    expect(secretNames.postgresLogin('db', 'Sales-EU_ro')).toBe('db-user-sales-eu-ro');
    expect(secretNames.postgresLogin('db', 'app_')).toBe('db-user-app');
    expect(secretNames.postgresLogin('db', 'postgres')).toBe('db-superuser');
    expect(secretNames.postgresLogin('db', 'Postgres')).toBe('db-user-postgres');
  });

  it('are cut to 63 characters with a hash of the whole, deterministically and apart', () => {
    const a = secretNames.postgresLogin('analytics-postgres', `${'Long'.repeat(15)}A`);
    const b = secretNames.postgresLogin('analytics-postgres', `${'Long'.repeat(15)}B`);
    expect(a).toMatch(DNS_LABEL);
    expect(a).toHaveLength(63);
    expect(a).toMatch(/^analytics-postgres-user-longlong.*-[0-9a-f]{6}$/);
    expect(a).not.toBe(b);
    expect(secretNames.postgresLogin('analytics-postgres', `${'Long'.repeat(15)}A`)).toBe(a);
  });

  it('are what the secrets command creates for a mixed-case login', () => {
    const spec = defineStack({ name: 'tools', components: { db: { kind: 'postgres', databases: [{ name: 'postgres', owner: 'yourUser' }] } } });
    expect(names(planSecrets(spec, 'kind', new Map(), {}).objects)).toEqual(['db-superuser', 'db-user-youruser']);
  });
});
