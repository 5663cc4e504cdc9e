/**
 * `stackport dev`: the Tiltfile runs under Starlark (configcheck, go.starlark.net) with Tilt's API
 * recorded and makes exactly the expected calls, with the images the manifests run; skaffold.yaml
 * validates against Skaffold's published JSON Schema. Both for the reference stack with builds and
 * for an imported compose project with hot-reload mounts.
 */
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import Ajv from 'ajv';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { buildManifests } from '../../charts/synth';
import { loadSpecFile, parseSpec } from '../../model/load';
import { resolveStack } from '../../model/presets';
import { referenceStack } from '../../model/reference';
import type { StackSpec } from '../../model/schema';
import { repositoryOf, SKAFFOLD_API_VERSION } from '../../ops/dev-files';
import { dev, starlarkString, writeDevFiles } from '../../ops/dev';
import { OpsError } from '../../ops/exec';
import { configcheck, configcheckSkip, tiltCalls, type TiltCall } from '../support/configcheck';
import { kindConfigYaml } from '../../ops/cluster';

const SKAFFOLD_SCHEMA = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'skaffold', 'v4beta14.json'), 'utf8'));
// Skaffold's schema carries editor keywords (x-intellij-html-description, preferredOrder) ajv does not know.
const validateSkaffold = new Ajv({ strict: false, allErrors: true }).compile(SKAFFOLD_SCHEMA);

const tmp = (name: string) => mkdtempSync(join(tmpdir(), `stackport-dev-${name}-`));

/** The reference stack with api and migrate (one image), dashboard and worker built from the example app. */
function builtReference(): StackSpec {
  const app = 'examples/dataplatform-app';
  const b = (target: string, sync: string[]) => ({ context: app, target, sync: sync.map((s) => ({ from: `${app}/${s}`, to: `/srv/dataplatform/${s}` })) });
  const c = referenceStack.components as Record<string, any>;
  return parseSpec(
    {
      ...referenceStack,
      components: {
        ...c,
        api: { ...c.api, build: b('api', ['app']) },
        migrate: { ...c.migrate, build: b('api', ['migrations']) },
        dashboard: { ...c.dashboard, build: { ...b('dashboard', ['dashboard']), args: { BASE: 'python:3.11-slim-bookworm' } } },
        worker: { ...c.worker, build: { context: app, dockerfile: 'Dockerfile', target: 'worker' } },
      },
    },
    'reference with builds',
  );
}

/** The image the manifests run for a component (its workload's first container). */
function manifestImage(spec: StackSpec, env: 'kind' | 'k3d', component: string): string {
  const objs = buildManifests(resolveStack(spec, env));
  const w = objs.find((o) => ['Deployment', 'StatefulSet', 'Job', 'CronJob'].includes(o.kind) && o.metadata.labels?.['app.kubernetes.io/instance'] === component);
  const pod = w.kind === 'CronJob' ? w.spec.jobTemplate.spec.template : w.spec.template;
  return pod.spec.containers[0].image;
}

const fns = (calls: TiltCall[]) => calls.map((c) => c.fn);
const builds = (calls: TiltCall[]) => calls.filter((c) => c.fn === 'docker_build').map((c) => c.args);

describe.skipIf(configcheckSkip)('stackport dev: the reference stack with builds', () => {
  const spec = builtReference();
  const out = tmp('reference');
  const files = writeDevFiles({ spec, environment: 'kind', outDir: out });
  const calls = configcheckSkip ? [] : tiltCalls(join(out, 'Tiltfile'), 'kind-dataplatform');

  it('writes Tiltfile, skaffold.yaml and the kind manifests they deploy', () => {
    expect(files.files.map((f) => relative(out, f))).toEqual(['Tiltfile', 'skaffold.yaml', '.stackport/dev/kind/dataplatform.k8s.yaml', '.stackport/.gitignore']);
    expect(readFileSync(join(out, 'Tiltfile'), 'utf8')).toBe(files.tiltfile);
  });

  it('deploys manifests whose synced folders are writable, with the pods as hardened as ever', () => {
    const objs = parseAllDocuments(readFileSync(join(out, '.stackport/dev/kind/dataplatform.k8s.yaml'), 'utf8')).map((d) => d.toJS());
    const pod = (name: string) => objs.find((o) => o?.kind === 'Deployment' && o.metadata.name === name).spec.template.spec;
    const api = pod('api');
    const app = api.containers.find((c: any) => c.name === 'api');
    expect(app.volumeMounts).toContainEqual({ name: 'live-sync', mountPath: '/srv/dataplatform/app', subPath: '0' });
    expect(app.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(api.volumes).toContainEqual({ name: 'live-sync', emptyDir: { sizeLimit: '1Gi' } });
    const seed = api.initContainers[0];
    expect(seed.name).toBe('live-sync-seed');
    expect(seed.image).toBe(app.image);
    expect(seed.securityContext).toEqual(app.securityContext);
    expect(seed.command[2]).toContain("seed /srv/dataplatform/app 0");
    // The dashboard syncs its folder too; the worker (a CronJob) and the migration (a Job) do not run long enough to take syncs.
    expect(pod('dashboard').containers[0].volumeMounts).toContainEqual({ name: 'live-sync', mountPath: '/srv/dataplatform/dashboard', subPath: '0' });
    for (const o of objs.filter((x) => x && ['Job', 'CronJob', 'StatefulSet'].includes(x.kind))) expect(JSON.stringify(o)).not.toContain('live-sync');
    // The cluster manifests of the same spec have none of it.
    expect(JSON.stringify(buildManifests(resolveStack(spec, 'kind')))).not.toContain('live-sync');
  });

  it('calls exactly the expected Tilt functions, in order', () => {
    // One docker_build per image: api and migrate share theirs; the sync steps are recorded as they are made.
    expect(fns(calls)).toEqual(['allow_k8s_contexts', 'k8s_context', 'local', 'k8s_yaml', 'sync', 'sync', 'docker_build', 'sync', 'docker_build', 'docker_build', 'k8s_resource', 'k8s_resource']);
    expect(calls[0].args).toEqual({ contexts: 'kind-dataplatform' });
    expect(calls[2].args).toEqual({ command: ['npx', 'stackport', 'synth', '--env', 'kind', '--out', '.stackport/dev', '--live-sync'], quiet: true });
    expect(calls[3].args).toEqual({ yaml: '.stackport/dev/kind/dataplatform.k8s.yaml' });
  });

  it('builds each image under the reference the manifests run, from its context, stage and Dockerfile', () => {
    const app = 'examples/dataplatform-app';
    expect(builds(calls)).toEqual([
      {
        ref: manifestImage(spec, 'kind', 'api'),
        context: app,
        dockerfile: `${app}/Dockerfile`,
        target: 'api',
        live_update: [
          { fn: 'sync', args: { local_path: `${app}/app`, remote_path: '/srv/dataplatform/app' } },
          { fn: 'sync', args: { local_path: `${app}/migrations`, remote_path: '/srv/dataplatform/migrations' } },
        ],
      },
      { ref: manifestImage(spec, 'kind', 'dashboard'), context: app, dockerfile: `${app}/Dockerfile`, target: 'dashboard', build_args: { BASE: 'python:3.11-slim-bookworm' }, live_update: [{ fn: 'sync', args: { local_path: `${app}/dashboard`, remote_path: '/srv/dataplatform/dashboard' } }] },
      { ref: manifestImage(spec, 'kind', 'worker'), context: app, dockerfile: `${app}/Dockerfile`, target: 'worker' },
    ]);
    expect(manifestImage(spec, 'kind', 'migrate')).toBe(manifestImage(spec, 'kind', 'api'));
  });

  it('forwards the web components\' Service ports to the workloads the manifests name', () => {
    const objs = buildManifests(resolveStack(spec, 'kind'));
    const forwards = calls.filter((c) => c.fn === 'k8s_resource').map((c) => c.args);
    expect(forwards).toEqual([
      { workload: 'api', port_forwards: ['8000:8000'] },
      { workload: 'dashboard', port_forwards: ['8501:8501'] },
    ]);
    for (const f of forwards) {
      expect(objs.some((o) => o.kind === 'Deployment' && o.metadata.name === f.workload)).toBe(true);
      const service = objs.find((o) => o.kind === 'Service' && o.metadata.name === f.workload);
      expect(service.spec.ports[0].port).toBe(Number(f.port_forwards[0].split(':')[1]));
    }
  });

  it('stops under any other kube context, saying which one it needs', () => {
    const r = configcheck(['tiltfile', '--k8s-context', 'prod-cluster', join(out, 'Tiltfile')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('this Tiltfile deploys to the kube context kind-dataplatform');
  });

  it('writes a skaffold.yaml that Skaffold\'s published schema accepts, with the same builds', () => {
    const config = parse(files.skaffold);
    expect(validateSkaffold(config), JSON.stringify(validateSkaffold.errors)).toBe(true);
    expect(config.apiVersion).toBe(SKAFFOLD_API_VERSION);
    expect(config.deploy).toEqual({ kubeContext: 'kind-dataplatform', kubectl: {} });
    expect(config.build.local).toEqual({ push: false });
    expect(config.manifests.rawYaml).toEqual(['.stackport/dev/kind/dataplatform.k8s.yaml']);
    expect(config.manifests.hooks.before[0].host.command).toEqual(calls[2].args.command);
    expect(config.build.artifacts.map((a: any) => a.image)).toEqual(['api', 'dashboard', 'worker'].map((c) => repositoryOf(manifestImage(spec, 'kind', c))));
    expect(config.build.artifacts[0]).toMatchObject({
      context: 'examples/dataplatform-app',
      docker: { dockerfile: 'Dockerfile', target: 'api' },
      sync: { manual: [{ src: 'app/**', dest: '/srv/dataplatform/app', strip: 'app/' }, { src: 'migrations/**', dest: '/srv/dataplatform/migrations', strip: 'migrations/' }] },
    });
    expect(config.build.artifacts[1].docker.buildArgs).toEqual({ BASE: 'python:3.11-slim-bookworm' });
  });

  it('fails the schema for a misspelt field, so the validator is live', () => {
    const config = parse(files.skaffold);
    config.build.artifacts[0].docker.dockerFile = config.build.artifacts[0].docker.dockerfile;
    expect(validateSkaffold(config)).toBe(false);
    const noKind = parse(files.skaffold);
    delete noKind.kind;
    expect(validateSkaffold(noKind)).toBe(false);
  });

  it('writes the same text every time, and names the k3d context for k3d', () => {
    expect(writeDevFiles({ spec, environment: 'kind', outDir: tmp('again') })).toMatchObject({ tiltfile: files.tiltfile, skaffold: files.skaffold });
    const k3d = tmp('k3d');
    writeDevFiles({ spec, environment: 'k3d', outDir: k3d });
    const k3dCalls = tiltCalls(join(k3d, 'Tiltfile'), 'k3d-dataplatform');
    expect(k3dCalls[0].args).toEqual({ contexts: 'k3d-dataplatform' });
    expect(builds(k3dCalls).map((b) => b.ref)).toEqual(['api', 'dashboard', 'worker'].map((c) => manifestImage(spec, 'k3d', c)));
  });
});

describe.skipIf(configcheckSkip)('stackport dev: an imported compose project with hot-reload mounts', () => {
  // unsupported-keys: app built from ".", with args and ./src mounted at /app/src; worker built from ./worker.
  const fixture = join(__dirname, '..', 'fixtures', 'compose', 'unsupported-keys');
  const specFile = join(fixture, 'stack.yaml');
  const spec = loadSpecFile(specFile);
  const out = tmp('imported');
  const files = writeDevFiles({ spec, specFile, environment: 'kind', outDir: out });
  const calls = configcheckSkip ? [] : tiltCalls(join(out, 'Tiltfile'), 'kind-unsupported-keys');
  const here = relative(out, fixture);

  it('watches the spec and re-synthesizes from it, with paths relative to where the files are', () => {
    expect(fns(calls)).toEqual(['allow_k8s_contexts', 'k8s_context', 'watch_file', 'local', 'k8s_yaml', 'sync', 'docker_build', 'docker_build', 'k8s_resource']);
    expect(calls[2].args).toEqual({ file_path: `${here}/stack.yaml` });
    expect(calls[3].args.command).toEqual(['npx', 'stackport', 'synth', '--spec', `${here}/stack.yaml`, '--env', 'kind', '--out', '.stackport/dev', '--live-sync']);
  });

  it('builds from the compose build and syncs the folder compose bind-mounted', () => {
    expect(builds(calls)).toEqual([
      { ref: manifestImage(spec, 'kind', 'app'), context: here, dockerfile: `${here}/Dockerfile`, build_args: { PYTHON_VERSION: '3.12' }, live_update: [{ fn: 'sync', args: { local_path: `${here}/src`, remote_path: '/app/src' } }] },
      { ref: manifestImage(spec, 'kind', 'worker'), context: `${here}/worker`, dockerfile: `${here}/worker/Dockerfile` },
    ]);
  });

  it('writes a valid skaffold.yaml syncing src/** to /app/src', () => {
    const config = parse(files.skaffold);
    expect(validateSkaffold(config), JSON.stringify(validateSkaffold.errors)).toBe(true);
    expect(config.build.artifacts[0].sync.manual).toEqual([{ src: 'src/**', dest: '/app/src', strip: 'src/' }]);
  });
});

describe.skipIf(configcheckSkip)('configcheck tiltfile', () => {
  const run = (text: string) => {
    const file = join(tmp('tilt'), 'Tiltfile');
    writeFileSync(file, text);
    return configcheck(['tiltfile', file]);
  };

  it('fails on a function Tilt does not have', () => {
    const r = run('docker_bild("app:1", ".")\n');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('undefined: docker_bild');
  });

  it('fails on an argument Tilt does not take', () => {
    const r = run('docker_build("app:1", ".", buildargs={})\n');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('docker_build: unexpected keyword argument "buildargs"');
  });

  it.each([['plain'], ['say "hi"'], ['back\\slash\\'], ['two\nlines\r\n'], ['tab\tand \u0001 bell \u007f'], ['ünïcode ✓'], ["it's"], ['"""']])('reads starlarkString(%j) back as written', (text) => {
    const r = run(`watch_file(${starlarkString(text)})\n`);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual([{ fn: 'watch_file', args: { file_path: text } }]);
  });
});

describe.skipIf(configcheckSkip)('configcheck kind-config', () => {
  const check = (text: string) => {
    const file = join(tmp('kind'), 'kind.yaml');
    writeFileSync(file, text);
    return configcheck(['kind-config', file]);
  };
  const valid = ['kind: Cluster', 'apiVersion: kind.x-k8s.io/v1alpha4', 'name: dataplatform', 'nodes:', '  - role: control-plane', '    extraPortMappings:', '      - containerPort: 80', '        hostPort: 8080', ''].join('\n');

  it('accepts a valid cluster config', () => {
    expect(check(valid)).toMatchObject({ status: 0, stdout: 'ok\n' });
  });

  it('rejects an unknown field, naming it', () => {
    const r = check(valid.replace('hostPort', 'hostPorts'));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('unknown field "hostPorts"');
  });

  // What `stackport up kind` hands to `kind create cluster --config`, for a short and a long stack name.
  it.each([['dataplatform'], ['a-stack-name-much-longer-than-kind-accepts-for-its-node-containers']])('accepts the config stackport up generates for %s', (name) => {
    expect(check(kindConfigYaml({ name }))).toMatchObject({ status: 0, stdout: 'ok\n' });
  });

  it('rejects another kind or apiVersion', () => {
    const r = check(valid.replace('v1alpha4', 'v1alpha3'));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('expected kind Cluster, apiVersion kind.x-k8s.io/v1alpha4');
  });
});

describe('stackport dev (the command)', () => {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  afterEach(() => log.mockClear());
  const printed = () => log.mock.calls.map((c) => c.join(' ')).join('\n');

  /** A copy of the imported fixture's spec, alone in a folder (the command writes next to it). */
  function specHere(): string {
    const dir = tmp('cmd');
    const text = readFileSync(join(__dirname, '..', 'fixtures', 'compose', 'fastapi-celery', 'stack.yaml'), 'utf8');
    writeFileSync(join(dir, 'stack.yaml'), text.replace(/^# yaml-language-server.*\n/, ''));
    return join(dir, 'stack.yaml');
  }

  /** PATH holding only a recording stand-in for tilt (or nothing). */
  function withPath(tilt: boolean): { dir: string; calls: string } {
    const dir = tmp('bin');
    const calls = join(dir, 'calls');
    if (tilt) {
      writeFileSync(join(dir, 'tilt'), `#!/bin/sh\necho "$@" >> ${calls}\n`);
      chmodSync(join(dir, 'tilt'), 0o755);
    }
    vi.stubEnv('PATH', dir);
    return { dir, calls };
  }
  afterEach(() => vi.unstubAllEnvs());

  it('writes the files and runs tilt up on them', async () => {
    const file = specHere();
    const { calls } = withPath(true);
    expect(await dev(['kind', '--spec', file])).toBe(0);
    expect(readFileSync(calls, 'utf8')).toBe(`up --file ${resolve(file, '..', 'Tiltfile')}\n`);
    expect(printed()).toContain('stackport dev kind: kube context kind-shop');
    expect(printed()).toContain('builds ghcr.io/acme/shop-api:1.3.0 (api) from .');
  });

  it('says how to install Tilt when it is missing, and how to start it', async () => {
    const file = specHere();
    withPath(false);
    expect(await dev(['k3d', '--spec', file])).toBe(0);
    expect(printed()).toContain('tilt not found on PATH: install it from https://docs.tilt.dev/install.html, then run: tilt up --file');
    expect(readFileSync(resolve(file, '..', 'Tiltfile'), 'utf8')).toContain('allow_k8s_contexts("k3d-shop")');
  });

  it('only writes with --no-tilt', async () => {
    const file = specHere();
    const { calls } = withPath(true);
    expect(await dev(['--spec', file, '--no-tilt'])).toBe(0);
    expect(() => readFileSync(calls)).toThrow();
    expect(printed()).toContain('start it with: tilt up --file');
  });

  it.each([
    [['prod'], 'dev: environment "prod": expected kind or k3d'],
    [['kind', '--spec', '/nonexistent/stack.yaml'], 'dev: /nonexistent/stack.yaml not found: give the spec with --spec FILE'],
    [['kind', '--wat'], 'dev: Unknown option \'--wat\''],
  ])('refuses %j with a usage error', async (args, message) => {
    const e = await dev(args).catch((x) => x);
    expect(e).toBeInstanceOf(OpsError);
    expect(e.message).toContain(message);
    expect(e.code).toBe(2);
  });
});
