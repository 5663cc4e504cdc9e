/** Loading: several files, extends, profiles, normalized short syntax. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCompose, projectName } from '../../importer/load';

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'stackport-load-'));
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  return dir;
}

describe('loadCompose', () => {
  const dir = project({
    'compose.yaml': [
      'name: My_Shop',
      'services:',
      '  api:',
      '    image: ghcr.io/acme/api:${TAG}',
      '    ports: ["8000:8000", "127.0.0.1:9000-9001:9000-9001/tcp"]',
      '    environment: [A=1, B]',
      '    labels: {x: "1"}',
      '    depends_on: [db]',
      '    volumes: [data:/data, ./conf:/etc/conf:ro]',
      '  db:',
      '    image: postgres:16.4',
      '  admin:',
      '    image: dpage/pgadmin4:8.12',
      '    profiles: [dev]',
      '  load:',
      '    image: grafana/k6:0.54.0',
      '    profiles: [perf]',
      'volumes: {data: {}}',
      '',
    ].join('\n'),
    'compose.override.yaml': ['services:', '  api:', '    environment: {A: "2", C: "3"}', '    ports: ["8000:8000"]', '    labels: [y=2]', '    depends_on: {db: {condition: service_healthy}}', ''].join('\n'),
    '.env': 'TAG=1.2.3\nB=from-dotenv\n',
  });
  const files = [join(dir, 'compose.yaml'), join(dir, 'compose.override.yaml')];

  it('merges files in order: maps by key, lists without duplicates, later scalars win', () => {
    const p = loadCompose({ files });
    const api = p.services.api.config;
    expect(p.name).toBe('my-shop');
    expect(api.image).toBe('ghcr.io/acme/api:1.2.3');
    expect(api.environment).toEqual({ A: '2', B: 'from-dotenv', C: '3' });
    expect(api.labels).toEqual({ x: '1', y: '2' });
    expect(api.depends_on).toEqual({ db: { condition: 'service_healthy', required: true } });
    expect(api.ports.map((x: { target: number }) => x.target)).toEqual([8000, 9000, 9001]);
    expect(api.volumes).toEqual([
      { type: 'volume', source: 'data', written: 'data', target: '/data', read_only: false },
      { type: 'bind', source: join(dir, 'conf'), written: './conf', target: '/etc/conf', read_only: true },
    ]);
  });

  it('lets the process environment win over .env', () => {
    expect(loadCompose({ files, environment: { TAG: '9.9.9' } }).services.api.config.image).toBe('ghcr.io/acme/api:9.9.9');
  });

  it('leaves out services of inactive profiles, keeps development ones for local environments', () => {
    const p = loadCompose({ files });
    expect(Object.keys(p.services)).toEqual(['api', 'db', 'admin']);
    expect(p.services.admin.localOnly).toBe(true);
    expect(p.warnings).toContainEqual({ service: 'load', key: 'profiles', why: 'left out: profile perf is not active (add --profile perf to include it)' });
    const all = loadCompose({ files, profiles: ['perf', 'dev'] });
    expect(Object.keys(all.services)).toEqual(['api', 'db', 'admin', 'load']);
    expect(all.services.admin.localOnly).toBe(true);
    expect(Object.keys(loadCompose({ files, environment: { COMPOSE_PROFILES: 'perf' } }).services)).toContain('load');
  });

  it('names projects as DNS labels', () => {
    expect(projectName('My Data_Platform!')).toBe('my-data-platform');
    expect(projectName('2048')).toBe('stack');
  });
});

describe('!reset and !override', () => {
  it('drop or replace what an earlier file gave a service', () => {
    const dir = project({
      'compose.yaml': 'services:\n  api:\n    image: ghcr.io/acme/api:1.0.0\n    ports: ["8000:8000", "9000:9000"]\n    environment: {A: "1", B: "2"}\n    labels: {x: "1"}\n',
      'compose.override.yaml': 'services:\n  api:\n    ports: !override ["8080:8080"]\n    environment: !override {C: "3"}\n    labels: !reset {}\n',
    });
    const api = loadCompose({ files: [join(dir, 'compose.yaml'), join(dir, 'compose.override.yaml')] }).services.api.config;
    expect(api.ports.map((p: { target: number }) => p.target)).toEqual([8080]);
    expect(api.environment).toEqual({ C: '3' });
    expect(api.labels).toBeUndefined();
    expect(Object.keys(api)).toEqual(['image', 'ports', 'environment']);
  });
});
