/**
 * What a service becomes follows the evidence compose projects carry: nginx-proxy's VIRTUAL_HOST,
 * a port another service dials besides the published one, a CLI helper in a debug profile, an
 * object store, and ports below 1024 kept as the image serves them.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildManifests } from '../../charts/synth';
import { formatWarning, importCompose, type ImportResult } from '../../importer/import';
import { parseSpec } from '../../model/load';
import { resolveStack } from '../../model/presets';

type Obj = Record<string, any>;

async function importOf(files: Record<string, string>, profiles: string[] = []): Promise<ImportResult> {
  const dir = mkdtempSync(join(tmpdir(), 'stackport-evidence-'));
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    writeFileSync(join(dir, f), text);
  }
  return importCompose({ files: [join(dir, 'compose.yaml')], environment: {}, profiles });
}

const components = (r: ImportResult) => r.spec.components as Record<string, Obj>;
const warnings = (r: ImportResult) => r.warnings.map(formatWarning).join('\n');

describe('nginx-proxy', () => {
  const compose = (proxy: string) => `services:
${proxy}  web:
    image: nginx:1.27-alpine
    environment:
      VIRTUAL_HOST: ""
  admin:
    image: acme/admin:2.0
    expose: ["3000"]
    environment:
      VIRTUAL_HOST: admin.example.com
      VIRTUAL_PORT: "3000"
      VIRTUAL_PATH: /console/
`;
  const PROXY = '  proxy:\n    build: ./proxy\n    ports: ["80:80", "443:443"]\n    volumes: ["/var/run/docker.sock:/tmp/docker.sock:ro"]\n';

  it('built from nginx-proxy is the edge, and each VIRTUAL_HOST becomes a route on its VIRTUAL_PORT (80 by default) and VIRTUAL_PATH', async () => {
    const r = await importOf({ 'compose.yaml': compose(PROXY), 'proxy/Dockerfile': 'FROM nginxproxy/nginx-proxy:1.7-alpine\nCOPY uploadsize.conf /etc/nginx/conf.d/\n' }, []);
    expect(components(r).proxy).toBeUndefined();
    expect(r.summary.get('proxy')!.join('\n')).toContain('VIRTUAL_HOST');
    expect(components(r).web).toMatchObject({ kind: 'web', port: 80, route: { path: '/' } });
    expect(components(r).admin).toMatchObject({ kind: 'web', port: 3000, route: { path: '/console' } });
    expect(r.spec.environments?.prod?.edge?.host).toBe('admin.example.com');
  });

  it('without a proxy service, VIRTUAL_HOST is for the host\'s nginx-proxy: the routes are kept and the warning says so', async () => {
    const r = await importOf({ 'compose.yaml': compose('') });
    expect(components(r).web.route).toEqual({ path: '/' });
    expect(warnings(r)).toContain('(project): environment: VIRTUAL_HOST of web, admin is for an nginx-proxy outside this file');
  });
});

describe('ports', () => {
  it('a port another service dials is served besides the published one', async () => {
    const r = await importOf({
      'compose.yaml': 'services:\n  main:\n    image: acme/flow:1.0\n    ports: ["5678:5678"]\n  runner:\n    image: acme/runner:1.0\n    env_file: runner.env\n',
      'runner.env': 'BROKER_URI=http://main:5679\n',
    });
    expect(components(r).main).toMatchObject({ port: 5678, extraPorts: [{ name: 'port-5679', port: 5679 }] });
  });

  it('a queue worker its runner dials stays a worker that serves that port to the stack', async () => {
    const r = await importOf({
      'compose.yaml': `services:
  main:
    image: acme/flow:1.0
    ports: ["5678:5678"]
  flow-worker:
    image: acme/flow:1.0
    command: worker
  runner:
    image: acme/runner:1.0
    environment: { BROKER_URI: "http://flow-worker:5679" }
    depends_on: [flow-worker]
  jobs:
    image: acme/jobs:1.0
    command: ["python", "worker.py"]
  poller:
    image: acme/poller:1.0
    environment: { JOBS: "jobs:7000" }
`,
    });
    expect(components(r)['flow-worker']).toMatchObject({ kind: 'worker', mode: 'continuous', ports: [{ name: 'port-5679', port: 5679 }] });
    expect(components(r)['flow-worker'].route).toBeUndefined();
    expect(components(r).runner.uses).toEqual([{ to: 'flow-worker' }]);
    expect(components(r).jobs).toMatchObject({ kind: 'worker', ports: [{ port: 7000 }] });
    expect(r.summary.get('flow-worker')?.join('\n')).toContain('a worker that serves 5679 to the stack (dialed by runner)');
    // A published port is a server for the outside: web, whatever its command says.
    const published = await importOf({ 'compose.yaml': 'services:\n  worker:\n    image: acme/flow:1.0\n    command: worker\n    ports: ["5679:5679"]\n' });
    expect(components(published).worker.kind).toBe('web');
    const objs = buildManifests(resolveStack(r.spec, 'kind')) as Obj[];
    const svc = objs.find((o) => o.kind === 'Service' && o.metadata.name === 'flow-worker');
    expect(svc?.spec.ports.map((p: Obj) => p.port)).toEqual([5679]);
  });

  it('a port below 1024 is kept, and only the pod that serves it gets the sysctl, set to its lowest port', async () => {
    const r = await importOf({ 'compose.yaml': 'services:\n  site:\n    image: httpd:2.4\n    ports: ["8080:80", "8443:443"]\n  api:\n    image: acme/api:1.0\n    ports: ["8000:8000"]\n' });
    expect(components(r).site).toMatchObject({ port: 80, extraPorts: [{ port: 443 }] });
    const pods = Object.fromEntries((buildManifests(resolveStack(r.spec, 'kind')) as Obj[]).filter((o) => o.kind === 'Deployment').map((d) => [d.metadata.name, d.spec.template.spec]));
    expect(pods.site.securityContext.sysctls).toEqual([{ name: 'net.ipv4.ip_unprivileged_port_start', value: '80' }]);
    expect(pods.api.securityContext.sysctls).toBeUndefined();
  });
});

describe('what is not a workload, and what keeps data', () => {
  it('a CLI helper in the debug profile is not deployed, and says how to run it instead', async () => {
    const r = await importOf({
      'compose.yaml': 'services:\n  app:\n    image: acme/app:1.0\n    ports: ["8080:8080"]\n  app-cli:\n    image: acme/app:1.0\n    profiles: [debug]\n    command: [bash, -c, app]\n  console:\n    image: acme/app:1.0\n    profiles: [debug]\n    command: [app, serve-debug]\n',
    });
    expect(components(r)['app-cli']).toBeUndefined();
    expect(warnings(r)).toContain('app-cli: image: not deployed: a command-line helper in profile debug, run by hand (docker compose run app-cli ...)');
    // A debug service that runs something stays (local environments only).
    expect(components(r).console).toBeDefined();
  });

  it('an S3-compatible object store keeps its data in a StatefulSet', async () => {
    const r = await importOf({ 'compose.yaml': 'services:\n  storage:\n    image: rustfs/rustfs:1.0.0-alpha.83\n    ports: ["9000:9000", "9001:9001"]\n    volumes: ["storage-data:/data"]\nvolumes:\n  storage-data:\n' });
    expect(components(r).storage).toMatchObject({ kind: 'stateful', ports: [{ port: 9000 }, { port: 9001 }], data: [{ path: '/data' }] });
  });
});

describe('data and model folders mounted from the host', () => {
  const files = (dockerfile: string) => ({
    'compose.yaml': 'services:\n  api:\n    build: ./api\n    ports: ["8000:8000"]\n    volumes: ["./api/models:/srv/app/models:ro", "./data:/srv/data"]\n',
    'api/Dockerfile': dockerfile,
    'api/models/model.onnx.txt': 'weights\n',
    'data/rows.csv': 'a,b\n',
  });

  it('are not mounted when the Dockerfile copies them to the same path (an empty volume would hide the image\'s copy)', async () => {
    const r = await importOf(files('FROM python:3.12-slim\nWORKDIR /srv/app\nCOPY . .\n'));
    expect(components(r).api.volumes).toEqual([{ volume: 'data', path: '/srv/data' }]);
    expect(r.summary.get('api')!.join('\n')).toContain('./api/models is in the image already (Dockerfile: COPY api /srv/app); not mounted');
  });

  it('otherwise become a volume, and the warning says how to fill it: bake it in, or seed it from an image', async () => {
    const r = await importOf(files('FROM python:3.12-slim\nCOPY app.py /srv/app/\n'));
    expect(components(r).api.volumes).toEqual([
      { volume: 'models', path: '/srv/app/models', readOnly: true },
      { volume: 'data', path: '/srv/data' },
    ]);
    expect(warnings(r)).toContain(
      'api: volumes./srv/app/models: host directory ./api/models becomes the volume "models", which starts empty (the files are not copied): bake them into the image (COPY api/models /srv/app/models in its Dockerfile), or set volumes.models.seed to an image holding them',
    );
  });
});

describe('volumes.<name>.seed', () => {
  const spec = (seed: Obj) => ({
    apiVersion: 'stackport.dev/v1alpha1',
    name: 'ml',
    volumes: { models: { seed } },
    components: {
      api: { kind: 'web', image: 'acme/api:1.0', port: 8000, healthPath: '/health', volumes: [{ volume: 'models', path: '/models', readOnly: true }] },
      batch: { kind: 'worker', image: 'acme/api:1.0', schedule: '0 * * * *', volumes: [{ volume: 'models', path: '/models' }] },
    },
  });

  it('fills the volume from the image before every pod that mounts it starts, only while it is empty, as the pod\'s uid', () => {
    const objects = buildManifests(resolveStack(spec({ image: 'ghcr.io/acme/models:2024.06', path: '/opt/models/' }) as never, 'kind')) as Obj[];
    const web = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'api')!.spec.template.spec;
    const cron = objects.find((o) => o.kind === 'CronJob')!.spec.jobTemplate.spec.template.spec;
    for (const pod of [web, cron]) {
      const seed = pod.initContainers.find((c: Obj) => c.name === 'seed-models');
      expect(seed).toMatchObject({ image: 'ghcr.io/acme/models:2024.06', command: ['sh', '-c', 'if [ -z "$(ls -A /seed-target)" ]; then cp -R /opt/models/. /seed-target/; fi'] });
      expect(seed.volumeMounts.at(-1)).toEqual({ name: 'pvc-models', mountPath: '/seed-target' });
      expect(seed.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    }
  });

  it('needs a pinned image in prod, and an absolute path', () => {
    expect(() => resolveStack({ ...spec({ image: 'ghcr.io/acme/models:latest', path: '/opt/models' }), environments: { prod: { edge: { host: 'ml.example.com', className: 'eg' } } } } as never, 'prod')).toThrow(
      'volumes.models.seed.image: "ghcr.io/acme/models:latest" has no pinned tag or digest; prod needs one',
    );
    expect(() => parseSpec(spec({ image: 'ghcr.io/acme/models:1', path: 'opt/models' }))).toThrow('volumes.models.seed.path: must be an absolute path');
  });
});

describe('copies of one service behind an nginx upstream', () => {
  const files = (extra = '') => ({
    'compose.yaml': `services:\n  nginx:\n    build: ./nginx\n    ports: ["80:80"]\n  node1:\n    build: ./node\n    ports: ["8080"]\n  node2:\n    build: ./node\n    ports: ["8080"]\n  node3:\n    build: ./node\n    ports: ["8080"]\n${extra}`,
    'nginx/Dockerfile': 'FROM nginx:1.27\nCOPY nginx.conf /etc/nginx/nginx.conf\n',
    'nginx/nginx.conf': 'events {}\nhttp {\n  upstream app {\n    least_conn;\n    server node1:8080 weight=60;\n    server node2:8080 weight=60;\n    server node3:8080;\n  }\n  server {\n    listen 80;\n    location / { proxy_pass http://app; }\n  }\n}\n',
    'node/Dockerfile': 'FROM node:20-alpine\nCOPY index.js .\n',
  });

  it('become one component with a replica each, routed where nginx balanced them', async () => {
    const r = await importOf(files());
    expect(Object.keys(components(r))).toEqual(['node1']);
    expect(components(r).node1).toMatchObject({ kind: 'web', port: 8080, replicas: 3, route: { path: '/' } });
    expect(r.summary.get('node3')!.join('\n')).toContain('a copy of node1 that nginx balances over: one of the 3 replicas of component node1');
  });

  it('stay apart when they differ, or when another service dials one by name', async () => {
    const differ = await importOf({ ...files(), 'compose.yaml': files()['compose.yaml'].replace('  node3:\n    build: ./node\n', '  node3:\n    build: ./node\n    environment: {ROLE: canary}\n') });
    expect(Object.keys(components(differ)).sort()).toEqual(['node1', 'node2', 'node3']);
    const named = await importOf(files('  probe:\n    image: acme/probe:1.0\n    environment: {TARGET: "http://node2:8080"}\n'));
    expect(Object.keys(components(named)).sort()).toEqual(['node1', 'node2', 'node3', 'probe']);
  });
});
