/**
 * The corpus report's scoring, on a small case written here: what it counts as met and what it
 * lists as missed. The public corpus itself is measured by running the script (BASELINE.md).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { reportCase } from '../../scripts/corpus-report';

const root = mkdtempSync(join(tmpdir(), 'corpus-report-'));
const out = mkdtempSync(join(tmpdir(), 'corpus-report-out-'));
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(out, { recursive: true, force: true });
});

const SOURCE = `---
repository: example/stack
commit: ${'a'.repeat(40)}
licence: MIT
licenceFile: LICENSE
files:
  compose.yaml: compose.yaml
run: docker compose up
---
`;

const COMPOSE = `services:
  api:
    image: example/api:1.0.0
    ports: ["8000:8000"]
    environment:
      DATABASE_URL: postgresql://shop:secret@db:5432/shop
    depends_on: [db]
  db:
    image: postgres:16
    environment:
      POSTGRES_USER: shop
      POSTGRES_PASSWORD: secret
      POSTGRES_DB: shop
`;

function writeCase(name: string, compose: string, expected: string): void {
  const dir = join(root, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'SOURCE.md'), SOURCE);
  writeFileSync(join(dir, 'compose.yaml'), compose);
  writeFileSync(join(dir, 'expected.yaml'), expected);
}

describe('corpus report scoring', () => {
  it('counts a classification, connection and login the import meets', async () => {
    writeCase(
      'met',
      COMPOSE,
      `compose: { files: [compose.yaml], accepted: true }
services:
  api:
    becomes: web
    port: 8000
    connects: [{ to: "db:5432", via: [env, depends_on] }]
    logins: [{ user: shop, database: shop, on: db }]
  db:
    becomes: postgres
    port: 5432
    logins: [{ user: shop, database: shop, on: db }]
`,
    );
    const r = await reportCase('met', out, false, root);
    expect(r).toMatchObject({ imported: true, kind: 'ok', k3d: 'ok', classification: [2, 2], connections: [1, 1], logins: [2, 2], routes: [0, 0] });
    expect(r.misses).toEqual([]);
  });

  it('lists what is not met, naming service, expectation and what the import did', async () => {
    writeCase(
      'missed',
      COMPOSE,
      `compose: { files: [compose.yaml], accepted: true }
services:
  api:
    becomes: worker
    connects: [{ to: "db:6000", via: [env] }]
    logins: [{ user: postgres, database: shop, on: db }]
    routes: [{ host: api.example.com, path: /v1 }]
  db:
    becomes: postgres
    port: 5432
`,
    );
    const r = await reportCase('missed', out, false, root);
    expect(r.classification).toEqual([1, 2]);
    expect(r.connections).toEqual([0, 1]);
    expect(r.logins).toEqual([0, 1]);
    expect(r.routes).toEqual([0, 1]);
    expect(r.misses).toEqual([
      'api: expected worker, got web',
      'api -> db:6000 (env): db does not serve 6000 (serves 5432)',
      'api: login postgres@shop on db: gets shop on shop',
      expect.stringMatching(/^api: route api.example.com\/v1: /),
    ]);
  });

  it('reports a case that does not import with its first error and every expectation unmet', async () => {
    writeCase(
      'broken',
      'services:\n  api:\n    ports: ["8000:8000"]\n',
      `compose: { files: [compose.yaml], accepted: false, rejectedBecause: "a service needs image or build" }
services:
  api: { becomes: web, port: 8000, connects: [{ to: "api:8000", via: [env] }] }
`,
    );
    const r = await reportCase('broken', out, false, root);
    expect(r.imported).toBe(false);
    expect(r.error).toMatch(/^ComposeError: compose.yaml.*services.api/);
    expect(r.classification).toEqual([0, 1]);
    expect(r.connections).toEqual([0, 1]);
  });
});
