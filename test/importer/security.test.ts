/**
 * Importing a compose file that is not yours: no host file outside the project, no secret value
 * and no crash gets through. Host files and secrets carry sentinels that are searched byte for
 * byte in stack.yaml and in every environment's manifests.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { reportError } from '../../cli';
import { importCompose } from '../../importer/import';
import { ComposeError } from '../../importer/load/errors';
import { ProjectFolder } from '../../importer/load/project-folder';
import { ownRule, passwordParams, scanValues } from '../../importer/translate/secret-values';
import { readExisting } from '../../ops/secrets';
import { parseSpecYaml } from '../../model/load';
import { SpecError } from '../../model/errors';

const stackport = (args: string[], env: Record<string, string> = {}) => spawnSync(process.execPath, ['bin/stackport.js', ...args], { encoding: 'utf8', env: { ...process.env, ...env } });

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

/** A temporary project beside host files that hold sentinels. */
function hostProject() {
  const root = mkdtempSync(join(tmpdir(), 'stackport-host-'));
  const abs = join(root, 'elsewhere');
  const up = join(root, 'up');
  const project = join(up, 'project');
  mkdirSync(abs);
  mkdirSync(join(project, 'conf.d'), { recursive: true });
  const sentinels = {
    absolute: 'SENTINEL-abs-71c4',
    climb: 'SENTINEL-climb-2e9b',
    link: 'SENTINEL-link-5f0a',
    folderLink: 'SENTINEL-folderlink-8d3e',
    envFile: 'SENTINEL-envfile-4b6c',
    dotenv: 'SENTINEL-dotenv-9a1f',
    config: 'SENTINEL-config-3c7d',
    secret: 'SENTINEL-secret-6e2b',
  };
  writeFileSync(join(abs, 'app.conf'), `token = ${sentinels.absolute}\n`);
  writeFileSync(join(up, 'climb.conf'), `token = ${sentinels.climb}\n`);
  writeFileSync(join(abs, 'linked.conf'), `token = ${sentinels.link}\n`);
  writeFileSync(join(abs, 'in-folder.conf'), `token = ${sentinels.folderLink}\n`);
  writeFileSync(join(abs, 'app.env'), `FROM_ENV_FILE=${sentinels.envFile}\n`);
  writeFileSync(join(abs, 'dot.env'), `GREETING=${sentinels.dotenv}\n`);
  writeFileSync(join(abs, 'config.yaml'), `token: ${sentinels.config}\n`);
  writeFileSync(join(abs, 'token.txt'), `${sentinels.secret}\n`);
  symlinkSync(join(abs, 'linked.conf'), join(project, 'linked.conf'));
  symlinkSync(join(abs, 'in-folder.conf'), join(project, 'conf.d', 'escape.conf'));
  writeFileSync(join(project, 'conf.d', 'site.conf'), 'workers = 2\n');
  symlinkSync(abs, join(project, 'elsewhere-link'));
  symlinkSync(join(abs, 'dot.env'), join(project, '.env'));
  writeFileSync(
    join(project, 'compose.yaml'),
    [
      'services:',
      '  app:',
      '    image: ghcr.io/acme/app:1.0.0',
      '    expose: ["8000"]',
      `    env_file: [${join(abs, 'app.env')}]`,
      '    environment: {GREETING: "${GREETING:-hello}"}',
      '    volumes:',
      `      - ${join(abs, 'app.conf')}:/etc/app/abs.conf:ro`,
      '      - ../climb.conf:/etc/app/climb.conf:ro',
      '      - ./linked.conf:/etc/app/linked.conf:ro',
      '      - ./conf.d:/etc/app/conf.d:ro',
      '      - ./elsewhere-link:/etc/app/elsewhere:ro',
      '    configs: [{source: outside_config, target: /etc/app/config.yaml}]',
      '    secrets: [outside_token]',
      'configs:',
      `  outside_config: {file: ${join(abs, 'config.yaml')}}`,
      'secrets:',
      '  outside_token: {file: ../../elsewhere/token.txt}',
      '',
    ].join('\n'),
  );
  return { root, project, sentinels };
}

describe('host files outside the project folder', () => {
  it('are never read: no sentinel reaches stack.yaml or dist/, and each left-out file is a warning naming service and key', () => {
    const { root, project, sentinels } = hostProject();
    const out = join(root, 'out');
    const r = stackport(['import', join(project, 'compose.yaml'), '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    for (const key of ['env_file[0]', 'volumes./etc/app/abs.conf', 'volumes./etc/app/climb.conf', 'volumes./etc/app/linked.conf', 'volumes./etc/app/conf.d', 'volumes./etc/app/elsewhere', 'configs.outside_config', 'secrets.outside_token']) {
      expect(r.stdout).toMatch(new RegExp(`warning: app: ${key.replace(/[.[\]]/g, '\\$&')}: .* is outside the project folder`));
    }
    expect(r.stdout).toContain('warning: (project): .env: .env (a link) is outside the project folder');
    const s = stackport(['synth', '--spec', join(out, 'stack.yaml'), '--out', join(out, 'dist')]);
    expect(s.status).toBe(0);
    const written = [join(out, 'stack.yaml'), ...filesUnder(join(out, 'dist'))];
    expect(written.length).toBe(7); // stack.yaml, and per environment the manifests and kustomization.yaml
    for (const file of written) {
      const bytes = readFileSync(file);
      for (const v of Object.values(sentinels)) expect(bytes.includes(Buffer.from(v)), `${v} in ${file}`).toBe(false);
    }
    // A mounted folder holding a link out is left out whole, not half.
    expect(readFileSync(join(out, 'stack.yaml'), 'utf8')).not.toContain('/etc/app/conf.d/site.conf');
    expect(readFileSync(join(out, 'stack.yaml'), 'utf8')).toContain('GREETING: hello');
  });

  it('refuses include and extends files outside the project before reading them', async () => {
    const { root, project } = hostProject();
    // Not YAML at all: a read would fail differently.
    writeFileSync(join(root, 'other.yaml'), ': : not yaml [');
    for (const [n, body] of [
      ['include', 'include: [../../other.yaml]\nservices:\n  app: {image: "ghcr.io/acme/app:1.0.0"}\n'],
      ['extends', `services:\n  app:\n    image: ghcr.io/acme/app:1.0.0\n    extends: {file: ${join(root, 'other.yaml')}, service: x}\n`],
    ]) {
      writeFileSync(join(project, `${n}.yaml`), body);
      const e = await importCompose({ files: [join(project, `${n}.yaml`)], environment: {} }).catch((x) => x);
      expect(e).toBeInstanceOf(ComposeError);
      expect(e.message).toMatch(/is outside the project folder/);
      expect(e.message).not.toMatch(/not valid YAML/);
    }
  });

  it('follows --project-directory: relative paths start there and it bounds what is read', async () => {
    const { root } = hostProject();
    const top = join(root, 'repo');
    mkdirSync(join(top, 'deploy'), { recursive: true });
    mkdirSync(join(top, 'conf'));
    writeFileSync(join(top, 'conf', 'app.ini'), 'workers = 3\n');
    writeFileSync(join(top, 'deploy', 'compose.yaml'), 'services:\n  app:\n    image: ghcr.io/acme/app:1.0.0\n    expose: ["8000"]\n    volumes: ["./conf/app.ini:/etc/app/app.ini:ro", "../up/climb.conf:/etc/app/climb.conf:ro"]\n');
    const r = await importCompose({ files: [join(top, 'deploy', 'compose.yaml')], projectDirectory: top, environment: {} });
    expect((r.spec.components.app as any).files).toEqual({ '/etc/app/app.ini': 'workers = 3\n' });
    expect(r.warnings.map((w) => w.key)).toContain('volumes./etc/app/climb.conf');
    const missing = await importCompose({ files: [join(top, 'deploy', 'compose.yaml')], projectDirectory: join(top, 'nope'), environment: {} }).catch((x) => x);
    expect(missing.message).toContain('--project-directory must name an existing folder');
  });

  it('judges paths by where they really lead', () => {
    const { root, project } = hostProject();
    const folder = new ProjectFolder(project);
    expect(folder.check('/etc/passwd')).toEqual({ ok: false, why: 'outside' });
    expect(folder.check('../climb.conf')).toEqual({ ok: false, why: 'outside' });
    expect(folder.check('linked.conf')).toEqual({ ok: false, why: 'outside' });
    expect(folder.check('elsewhere-link/app.conf')).toEqual({ ok: false, why: 'outside' });
    expect(folder.check('conf.d/site.conf').ok).toBe(true);
    expect(folder.check('conf.d/../conf.d/site.conf').ok).toBe(true);
    expect(folder.check('nothing-here')).toEqual({ ok: false, why: 'missing' });
    expect(folder.readText(join(root, 'up', 'climb.conf'))).toBeUndefined();
    expect(folder.list('conf.d')).toEqual({ files: [join(project, 'conf.d', 'site.conf')], outside: [join(project, 'conf.d', 'escape.conf')] });
  });
});

describe('the importer reads the disk in one place', () => {
  it('translation opens files only through the project folder', () => {
    const root = join(__dirname, '..', '..', 'importer', 'translate');
    const users = readdirSync(root).filter((f) => /from 'node:fs'/.test(readFileSync(join(root, f), 'utf8')));
    expect(users).toEqual([]);
  });
});

describe('YAML limits', () => {
  const made: string[] = [];
  afterAll(() => {
    for (const d of made) rmSync(d, { recursive: true, force: true });
  });
  const bombs = () => {
    const dir = mkdtempSync(join(tmpdir(), 'stackport-bomb-'));
    made.push(dir);
    let lol = 'x-l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n';
    for (let i = 1; i < 10; i++) lol += `x-l${i}: &l${i} [${Array(9).fill(`*l${i - 1}`).join(', ')}]\n`;
    const files = {
      'alias-compose.yaml': `${lol}services:\n  api:\n    image: ghcr.io/acme/api:1.0.0\n    labels: {bomb: *l9}\n`,
      'deep-compose.yaml': `services:\n  api:\n    image: ghcr.io/acme/api:1.0.0\n    x-deep: ${'['.repeat(100000)}${']'.repeat(100000)}\n`,
      'big-compose.yaml': `services:\n  api:\n    image: ghcr.io/acme/api:1.0.0\n${'# padding\n'.repeat(500000)}`,
      'alias-spec.yaml': `${lol.replace(/x-l/g, 'l')}name: shop\ncomponents: {}\n`,
      'deep-spec.yaml': `name: shop\ncomponents: ${'{a: '.repeat(100)}1${'}'.repeat(100)}\n`,
    };
    for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
    return dir;
  };

  it.each([
    ['import', 'alias-compose.yaml', /YAML aliases \(\*name\) expand beyond 10,000 copies/],
    ['import', 'deep-compose.yaml', /nest deeper than 64 levels/],
    ['import', 'big-compose.yaml', /limited to 4194304 bytes/],
    ['synth', 'alias-spec.yaml', /YAML aliases \(\*name\) expand beyond 10,000 copies/],
    ['synth', 'deep-spec.yaml', /nest deeper than 64 levels/],
  ])('stackport %s refuses %s in one line, without a stack trace, writing nothing', (command, file, why) => {
    const dir = bombs();
    const out = join(dir, 'out');
    const r = command === 'import' ? stackport(['import', join(dir, file), '--out', out]) : stackport(['synth', '--spec', join(dir, file), '--out', out]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^error: ${join(dir, file).replace(/[.]/g, '\\.')}(:\\d+:\\d+)?: `));
    expect(lines[0]).toMatch(why);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(out)).toBe(false);
  });

  it('applies to the Secrets file the secrets command reads back', () => {
    const dir = bombs();
    const file = join(dir, 'secrets.yaml');
    writeFileSync(file, `kind: Secret\n---\n${readFileSync(join(dir, 'alias-spec.yaml'), 'utf8')}`);
    expect(() => readExisting(file)).toThrow(new RegExp(`^${file.replace(/[.]/g, '\\.')}: its YAML aliases`));
  });

  it('applies to stack specs parsed from text too', () => {
    expect(() => parseSpecYaml(`a: &a [1, 2]\nb: ${'['.repeat(70)}${']'.repeat(70)}\n`, 'x.yaml')).toThrow(SpecError);
  });
});

describe('unexpected errors', () => {
  afterEach(() => vi.restoreAllMocks());

  it('are one line saying so and how to report them, with the trace only under STACKPORT_DEBUG=1', () => {
    const lines: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void lines.push(a.map((x) => (x instanceof Error ? x.stack : String(x))).join(' ')));
    const before = process.env.STACKPORT_DEBUG;
    delete process.env.STACKPORT_DEBUG;
    expect(reportError(new TypeError('boom'))).toBe(70);
    expect(lines).toEqual(['error: unexpected failure (TypeError: boom); this is a bug in stackport: please report it with the command you ran (run it again with STACKPORT_DEBUG=1 to get the stack trace)']);
    process.env.STACKPORT_DEBUG = '1';
    lines.length = 0;
    reportError(new TypeError('boom'));
    process.env.STACKPORT_DEBUG = before;
    if (before === undefined) delete process.env.STACKPORT_DEBUG;
    expect(lines[0]).toMatch(/TypeError: boom\n\s+at /);
    expect(lines[1]).toContain('and the trace above');
  });
});

describe('secret values under plain names', () => {
  it.each([
    ['JDBC_URL', 'jdbc:postgresql://db:5432/app?user=a&password=s3cr3t-pw&ssl=true', 's3cr3t-pw'],
    ['JDBC_URL', 'jdbc:sqlserver://db:1433;databaseName=app;user=a;password=s3cr3t-pw;encrypt=true', 's3cr3t-pw'],
    ['PG_DSN', "host=db dbname=app user=a password='pa ss' sslmode=require", 'pa ss'],
    ['PG_DSN', 'host=db port=5432 password=s3cr3t-pw user=a', 's3cr3t-pw'],
    ['CONN', 'Server=db;Database=app;User Id=a;Password=s3cr3t-pw;', 's3cr3t-pw'],
    ['CONN', 'Data Source=db;Initial Catalog=app;Uid=a;Pwd=s3cr3t-pw', 's3cr3t-pw'],
    ['MONGO', 'mongodb://db:27017/app?authSource=admin&password=s3cr3t-pw', 's3cr3t-pw'],
  ])('finds the password in %s=%s', (_, value, secret) => {
    const found = passwordParams(value);
    expect(found.map((p) => value.slice(p.start, p.end))).toEqual([secret]);
  });

  it('leaves references alone', () => {
    expect(passwordParams('jdbc:postgresql://db/app?password=$(JDBC_PASSWORD)')).toEqual([]);
    expect(passwordParams('host=db user=a password=\u0001PG_PASSWORD\u0002')).toEqual([]);
  });

  it.each([
    ['AUTH', 'Bearer abcdefghij0123456789', /Authorization/],
    ['KEY_ID', 'AKIAQWERTYUIOPASDFGH', /AWS access key id/],
    ['HOOK', 'https://hooks.slack.com/services/T000/B000/abcdefghijklmnop', /Slack webhook/],
    ['X', 'q8Zr2LkP0xW9vB7nT4mY1cS6', /random-looking/],
    ['CERT', '-----BEGIN RSA PRIVATE KEY-----\nMIIE...', /private key/],
  ])('our rules flag %s', (name, value, rule) => {
    expect(ownRule(name, value)).toMatch(rule);
  });

  it('takes provider tokens from the secretlint preset', async () => {
    const found = await scanValues([
      ['GH', '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'],
      ['HOOK', 'https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX'],
    ]);
    expect([...found.values()]).toEqual(['secretlint github (GITHUB_TOKEN)', 'secretlint slack (IncomingWebhook)']);
  });

  it('are listed in the import summary, variable, service and rule, never the value', () => {
    const dir = join(__dirname, '..', 'fixtures', 'compose', 'secret-values-in-env');
    const out = mkdtempSync(join(tmpdir(), 'stackport-found-'));
    const r = stackport(['import', join(dir, 'compose.yaml'), '--prod-host', 'ledger.example.com', '--prod-class', 'eg', '--out', out]);
    expect(r.status).toBe(0);
    const section = r.stdout.split('Values turned into Secret references')[1].split('\n\n')[0];
    const listed = section.split('\n').slice(1).map((l) => l.trim().split(/\s+/).slice(0, 2).join(' '));
    expect(listed).toEqual(['api PARTNER_AUTH', 'api ANALYTICS_DSN', 'api JDBC_URL', 'api PG_DSN', 'api REPORTING_CONNECTION', 'api LEGACY_CONNECTION', 'api UPSTREAM_AUTH', 'api AWS_ACCESS_KEY_ID', 'api SLACK_WEBHOOK_URL', 'api GH_AUTOMATION', 'api MYSTERY', 'reconcile JDBC_URL', 'api file']);
    expect(section).toContain('api file /etc/ledger/partner.ini  secretlint github (GITHUB_TOKEN)');
    for (const v of readFileSync(join(dir, 'secret-values'), 'utf8').split('\n').filter(Boolean)) expect(r.stdout).not.toContain(v);
  });

  it('leaves ordinary settings plain', async () => {
    const plain: [string, string][] = [
      ['IMAGE', 'ghcr.io/acme/ledger-api:2.4.1'],
      ['DIGEST_IMAGE', 'ghcr.io/acme/api@sha256:0f3a9c1e7b2d4c51e8f0a1b2c3d4e5f6a7b8c9d00f3a9c1e7b2d4c51e8f0a1b2'],
      ['HOST', 'ledger-db.eu-west-1.rds.amazonaws.com'],
      ['URL', 'https://partner.example.com/api/v2/ledger?limit=100&format=json'],
      ['MODEL', 'sentence-transformers/all-MiniLM-L6-v2'],
      ['TENANT_ID', '3f0e1c9a-7b2d-4c51-9e8f-0a1b2c3d4e5f'],
      ['REQUEST_NAMESPACE', '3f0e1c9a-7b2d-4c51-9e8f-0a1b2c3d4e5f'],
      ['GIT_SHA', '9c1f0e7b3a2d4c51e8f0a1b2c3d4e5f6a7b8c9d0'],
      ['WORKERS', '4'],
      ['JAVA_OPTS', '-Xms512m -Xmx2g -XX:+UseG1GC'],
      ['DJANGO_SETTINGS_MODULE', 'config.settings.production'],
      ['PYTHONPATH', '/app/src:/app/vendor'],
      ['CRON', '*/15 * * * *'],
      ['TZ', 'Europe/Berlin'],
      ['BROKER', 'amqp://mq:5672/'],
      ['DSN_NO_PASSWORD', 'host=db dbname=app user=app sslmode=require'],
      ['GREETING', 'Hello from the ledger service, version 2'],
    ];
    expect(await scanValues(plain)).toEqual(new Map());
  });
});
