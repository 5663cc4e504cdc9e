/**
 * `stackport graph`: the picture is parsed back (nodes with their shapes, edges with their labels)
 * and compared exactly, for the reference stack and two importer fixtures, including edges that
 * must be absent because no policy admits them.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildGraph, graphOf, toMermaid } from '../graph';
import { buildManifests } from '../charts/synth';
import { resolveStack } from '../model/presets';
import { defineStack, loadSpecFile } from '../model/load';
import { referenceStack } from '../model/reference';
import type { EnvironmentName, StackSpec } from '../model/schema';

const SHAPES: Array<[RegExp, string]> = [
  [/^\[\("(.+?)<br\/>.*"\)\]$/, 'cylinder'],
  [/^\[\["(.+?)<br\/>.*"\]\]$/, 'subroutine'],
  [/^\{\{"(.+?)<br\/>.*"\}\}$/, 'hexagon'],
  [/^\[\/"(.+?)<br\/>.*"\/\]$/, 'parallelogram'],
  [/^\["(.+?)<br\/>.*"\]$/, 'rectangle'],
];

/** Nodes as "name:shape" and edges as "from -label-> to" (solid) or "from ~label~> to" (dashed), ids mapped back to names. */
function parse(mermaid: string) {
  const lines = mermaid.trim().split('\n');
  expect(lines[0]).toBe('flowchart LR');
  const names = new Map<string, string>();
  const nodes: string[] = [];
  const edges: string[] = [];
  for (const line of lines.slice(1).map((l) => l.trim())) {
    const edge = /^(\S+) (-->|-\.->)\|"?(.*?)"?\| (\S+)$/.exec(line);
    if (edge) {
      const [, a, arrow, label, b] = edge;
      edges.push(`${names.get(a) ?? a} ${arrow === '-->' ? `-${label}->` : `~${label}~>`} ${names.get(b) ?? b}`);
      continue;
    }
    const node = /^(n_\w+)(.+)$/.exec(line);
    if (node) {
      const shape = SHAPES.find(([re]) => re.test(node[2]));
      expect(shape, line).toBeDefined();
      const name = shape![0].exec(node[2])![1];
      names.set(node[1], name);
      nodes.push(`${name}:${shape![1]}`);
      continue;
    }
    const special = /^(edge|out_\w+)[(>]/.exec(line);
    expect(special, `unexpected line: ${line}`).not.toBeNull();
    names.set(special![1], special![1] === 'edge' ? 'EDGE' : 'OUTSIDE');
  }
  return { nodes: nodes.sort(), edges: edges.sort() };
}

const draw = (spec: StackSpec, env: EnvironmentName) => parse(graphOf(spec, env));

describe('stackport graph', () => {
  it('draws the reference stack on kind: shapes by kind, admitted flows with ports, routes, egress and waits', () => {
    const g = draw(referenceStack, 'kind');
    expect(g.nodes).toEqual(['api:rectangle', 'dashboard:rectangle', 'migrate:parallelogram', 'pgadmin:rectangle', 'postgres:cylinder', 'redis:cylinder', 'worker:hexagon']);
    expect(g.edges).toEqual(
      [
        'EDGE -/api-> api',
        'EDGE -/-> dashboard',
        'api -5432-> postgres',
        'api -6379-> redis',
        'dashboard -8000-> api',
        'dashboard -5432-> postgres',
        'worker -5432-> postgres',
        'worker -6379-> redis',
        'migrate -5432-> postgres',
        'pgadmin -5432-> postgres',
        'worker -443-> OUTSIDE',
        'api ~waits for~> migrate',
        'worker ~waits for~> migrate',
      ].sort(),
    );
    // No policy admits these, so they must not be drawn.
    for (const absent of ['dashboard -6379-> redis', 'worker -8501-> dashboard', 'api -8501-> dashboard', 'redis -5432-> postgres']) expect(g.edges).not.toContain(absent);
  });

  it('leaves out what an environment disables and draws what it adds (prod: backup, no pgAdmin; k3d: Ingress routes)', () => {
    const prod = draw(referenceStack, 'prod');
    expect(prod.nodes).toContain('postgres-backup:hexagon');
    expect(prod.nodes.some((n) => n.startsWith('pgadmin:'))).toBe(false);
    expect(prod.edges).toContain('postgres-backup -5432-> postgres');
    const k3d = draw(referenceStack, 'k3d');
    // The HTTP-to-HTTPS redirect and the /metrics deny route nothing to their backends.
    expect(k3d.edges.filter((e) => e.startsWith('EDGE'))).toEqual(['EDGE -/-> dashboard', 'EDGE -/api-> api']);
  });

  it('draws a flow only when both the egress and the ingress policy admit it', () => {
    const spec = defineStack({
      name: 'shop',
      components: {
        db: { kind: 'postgres', databases: [{ name: 'shop', owner: 'shop' }] },
        api: { kind: 'web', image: 'ghcr.io/acme/api:1.0.0', port: 8000, healthPath: '/', uses: ['db'] },
        report: { kind: 'worker', mode: 'scheduled', schedule: '0 6 * * *', image: 'ghcr.io/acme/api:1.0.0' },
      },
    });
    const objs = buildManifests(resolveStack(spec, 'kind'));
    expect(parse(toMermaid(buildGraph(objs))).edges).toEqual(['EDGE -/api-> api', 'api -5432-> db']);
    // db's ingress no longer admits api: api's egress alone does not make a flow.
    const dbPolicy = objs.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'db');
    dbPolicy.spec.ingress = [];
    expect(parse(toMermaid(buildGraph(objs))).edges).toEqual(['EDGE -/api-> api']);
  });

  it('draws two importer fixtures: as imported (network mode stack: every pod to every Service port) and tightened (declared)', () => {
    const celerySpec = loadSpecFile(join(__dirname, 'fixtures/compose/fastapi-celery/stack.yaml'));
    expect(celerySpec.network?.mode).toBe('stack');
    const celery = draw(celerySpec, 'k3d');
    expect(celery.nodes).toEqual(['api:rectangle', 'beat:subroutine', 'db:cylinder', 'migrate:parallelogram', 'redis:cylinder', 'worker:subroutine']);
    const servers: Record<string, string> = { api: '8000', db: '5432', redis: '6379' };
    const pods = ['api', 'migrate', 'worker', 'beat', 'db', 'redis'];
    const everyToEvery = pods.flatMap((from) => Object.entries(servers).filter(([to]) => to !== from).map(([to, port]) => `${from} -${port}-> ${to}`));
    expect(celery.edges).toEqual([...everyToEvery, 'EDGE -/-> api', 'worker -443-> OUTSIDE', 'api ~waits for~> migrate'].sort());
    // Declared: only the flows the relations name, so beat reaches redis but not the database.
    const declared = draw({ ...celerySpec, network: { mode: 'declared' } } as StackSpec, 'k3d');
    expect(declared.edges).toEqual(
      ['EDGE -/-> api', 'api -5432-> db', 'api -6379-> redis', 'migrate -5432-> db', 'worker -5432-> db', 'worker -6379-> redis', 'beat -6379-> redis', 'worker -443-> OUTSIDE', 'api ~waits for~> migrate'].sort(),
    );
    expect(declared.edges).not.toContain('beat -5432-> db');
    const nginxSpec = loadSpecFile(join(__dirname, 'fixtures/compose/nginx-tls/stack.yaml'));
    const nginx = draw({ ...nginxSpec, network: { mode: 'declared' } } as StackSpec, 'kind');
    expect(nginx.nodes).toEqual(['api:rectangle', 'dashboard:rectangle', 'postgres:cylinder']);
    expect(nginx.edges).toEqual(['EDGE -/api-> api', 'EDGE -/-> dashboard', 'api -5432-> postgres', 'dashboard -8000-> api', 'dashboard -5432-> postgres'].sort());
    expect(nginx.edges).not.toContain('postgres -8000-> api');
  });

  it('writes DOT for Graphviz users, and the CLI writes either to a file', () => {
    const dot = graphOf(referenceStack, 'kind', 'dot');
    expect(dot).toMatch(/^digraph "dataplatform" \{/);
    expect(dot).toContain('"postgres" [shape=cylinder, label="postgres\ndatabase"];');
    expect(dot).toContain('"api" -> "migrate" [style=dashed, label="waits for"];');
    const out = join(mkdtempSync(join(tmpdir(), 'stackport-graph-')), 'graph.dot');
    const r = spawnSync('node', ['bin/stackport.js', 'graph', '--format', 'dot', '--out', out], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(dot);
    const bad = spawnSync('node', ['bin/stackport.js', 'graph', '--format', 'png'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('error: --format png: expected mermaid or dot');
  }, 60_000);
});
