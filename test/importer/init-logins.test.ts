/**
 * A login an init script creates from the server's variables (n8n's POSTGRES_NON_ROOT_USER) is the
 * login apps use: it owns the databases the script grants it ALL on, and an app reading the same
 * password variable gets that login's Secret, so it can log in.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect, it } from 'vitest';
import { formatWarning, importCompose } from '../../importer/import';

type Obj = Record<string, any>;

it('a login the init script creates owns what it is granted, and apps using its password variable get its Secret', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stackport-init-logins-'));
  const files: Record<string, string> = {
    'compose.yaml': `services:
  db:
    image: postgres:16.4
    environment:
      POSTGRES_USER: admin
      POSTGRES_PASSWORD: \${ADMIN_PW}
      POSTGRES_DB: shop
      APP_DB_USER: svc
      APP_DB_PASSWORD: \${APP_PW}
    volumes: ["./init.sh:/docker-entrypoint-initdb.d/init.sh"]
  api:
    image: acme/api:1.0
    ports: ["8000:8000"]
    environment:
      DB_HOST: db
      DB_USER: svc
      DB_PASSWORD: \${APP_PW}
`,
    'init.sh': `#!/bin/bash
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<-EOSQL
  CREATE USER \${APP_DB_USER} WITH PASSWORD '\${APP_DB_PASSWORD}';
  GRANT ALL PRIVILEGES ON DATABASE \${POSTGRES_DB} TO \${APP_DB_USER};
EOSQL
`,
  };
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    writeFileSync(join(dir, f), text);
  }
  const r = await importCompose({ files: [join(dir, 'compose.yaml')], environment: {} });
  const components = r.spec.components as Record<string, Obj>;
  expect(components.db.databases).toEqual([{ name: 'shop', owner: 'svc' }]);
  expect(components.api.secretEnv.DB_PASSWORD).toEqual({ secret: 'db-user-svc', key: 'password' });
  const warnings = r.warnings.map(formatWarning);
  expect(warnings).toContain('db: volumes./docker-entrypoint-initdb.d/init.sh: the init script creates login "svc" with ALL on database shop: in the spec "svc" owns shop (it was "admin")');
  expect(warnings.filter((w) => /APP_DB_(USER|PASSWORD): not translated/.test(w))).toEqual([]);
});
