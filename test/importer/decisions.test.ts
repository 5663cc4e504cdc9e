/** Single translation decisions, each on the smallest compose project that shows it. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatWarning, importCompose } from '../../importer/import';
import { buildManifests } from '../../charts/synth';
import { resolveStack } from '../../model/presets';

async function run(compose: string, extra: { prodHost?: string; prodClass?: string } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'stackport-decide-'));
  writeFileSync(join(dir, 'compose.yaml'), compose);
  const r = await importCompose({ files: [join(dir, 'compose.yaml')], environment: {}, ...extra });
  return { ...r, c: r.spec.components as Record<string, any>, w: r.warnings.map(formatWarning) };
}

describe('translation decisions', () => {
  it('runs an HTTP check on a port other than the main one as the command compose ran', async () => {
    const { c } = await run('services:\n  app:\n    image: ghcr.io/acme/app:1.0.0\n    expose: ["8080"]\n    healthcheck:\n      test: ["CMD", "curl", "-f", "http://localhost:8081/ready"]\n');
    expect(c.app.probe).toEqual({ command: ['curl', '-f', 'http://localhost:8081/ready'] });
    expect(c.app.healthPath).toBeUndefined();
  });

  it('gives the same literal password one Secret key in every service', async () => {
    const { c, secrets } = await run('services:\n  mq:\n    image: rabbitmq:3.13\n    environment: {RABBITMQ_DEFAULT_PASS: hunter2}\n  app:\n    image: ghcr.io/acme/app:1.0.0\n    environment: {BROKER_URL: "amqp://guest:hunter2@mq:5672/"}\n');
    expect(c.app.secretEnv.BROKER_PASSWORD).toEqual(c.mq.secretEnv.RABBITMQ_DEFAULT_PASS);
    expect(c.app.secretEnv.BROKER_PASSWORD.key).toBe('rabbitmq-default-pass');
    expect(c.app.env.BROKER_URL).toBe('amqp://guest:$(BROKER_PASSWORD)@mq:5672/');
    expect(secrets).toHaveLength(1);
    expect(JSON.stringify(c)).not.toContain('hunter2');
  });

  it('keeps application data out of the postgres maintenance database', async () => {
    const { c } = await run('services:\n  db:\n    image: postgres:16.4\n    environment: {POSTGRES_PASSWORD: x}\n');
    expect(c.db.databases).toEqual([{ name: 'app', owner: 'postgres' }]);
  });

  it('waits for a Django migration with its --check, and says when a job cannot be waited for', async () => {
    const { c, w } = await run(
      [
        'services:',
        '  web:',
        '    image: ghcr.io/acme/web:1.0.0',
        '    expose: ["8000"]',
        '    depends_on:',
        '      migrate: {condition: service_completed_successfully}',
        '      seed: {condition: service_completed_successfully}',
        '  migrate:',
        '    image: ghcr.io/acme/web:1.0.0',
        '    command: python manage.py migrate --noinput',
        '    restart: "no"',
        '  seed:',
        '    image: ghcr.io/acme/web:1.0.0',
        '    command: python seed.py',
        '    restart: "no"',
        '',
      ].join('\n'),
    );
    expect(c.web.after).toEqual(['migrate']);
    expect(c.migrate.completionCheck).toEqual(['python', 'manage.py', 'migrate', '--noinput', '--check']);
    expect(w).toContain('web: depends_on.seed: seed runs "python seed.py", whose completion cannot be checked from another pod; the order is not kept (add completionCheck to seed and after: [seed] to web)');
  });

  it('runs a job without a command with the image default, not the spec default migration', async () => {
    const { c } = await run('services:\n  once:\n    image: ghcr.io/acme/once:1.0.0\n    restart: "no"\n');
    expect(c.once).toMatchObject({ kind: 'job', args: [] });
  });

  it('runs a development-profile service in prod too when a prod service needs it', async () => {
    const { spec, w } = await run('services:\n  app:\n    image: ghcr.io/acme/app:1.0.0\n    expose: ["8000"]\n    environment: {CACHE_HOST: cache}\n  cache:\n    image: redis:7.4\n    profiles: [dev]\n  docs:\n    image: ghcr.io/acme/docs:1.0.0\n    expose: ["8080"]\n    profiles: [dev]\n');
    expect(spec.environments?.prod?.components).toEqual({ docs: { enabled: false } });
    expect(w).toContain('cache: profiles: app need it in every environment, so it runs in prod too');
  });

  it('keeps a port below 1024 as the image serves it, and the pod opens it to its non-root uid by sysctl', async () => {
    const { spec, c, w } = await run('services:\n  site:\n    image: ghcr.io/acme/site:1.0.0\n    expose: ["80"]\n');
    expect(c.site.port).toBe(80);
    expect(w.filter((x: string) => x.startsWith('site: ports'))).toEqual([]);
    const pod = (buildManifests(resolveStack(spec as never, 'kind')) as any[]).find((o) => o.kind === 'Deployment' && o.metadata.name === 'site').spec.template.spec;
    expect(pod.securityContext.sysctls).toEqual([{ name: 'net.ipv4.ip_unprivileged_port_start', value: '80' }]);
    expect(pod.containers[0].securityContext).toMatchObject({ runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
    expect(pod.containers[0].securityContext.capabilities.add).toBeUndefined();
  });
});

describe('secret values', () => {
  it('never reach stack.yaml, not even through a mounted file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stackport-leak-'));
    writeFileSync(join(dir, '.env'), 'API_TOKEN=tok-9f8e7d6c5b\n');
    writeFileSync(join(dir, 'app.env'), 'SIGNING_SECRET=sig-1a2b3c4d5e\nMODE=fast\n');
    writeFileSync(
      join(dir, 'compose.yaml'),
      'services:\n  app:\n    image: ghcr.io/acme/app:1.0.0\n    env_file: app.env\n    environment: {TOKEN_COPY: "${API_TOKEN}", DB_PASSWORD: literal-pass-123}\n    volumes: ["./app.env:/etc/app/app.env:ro", "./.env:/etc/app/dotenv:ro"]\n',
    );
    const r = await importCompose({ files: [join(dir, 'compose.yaml')], environment: {} });
    for (const v of ['tok-9f8e7d6c5b', 'sig-1a2b3c4d5e', 'literal-pass-123']) expect(r.text).not.toContain(v);
    expect(Object.keys((r.spec.components.app as any).secretFiles)).toEqual(['/etc/app/app.env', '/etc/app/dotenv']);
  });
});
