/**
 * Images of components with a build context, against recording stand-ins for docker, kind and k3d:
 * built once per image with the component's target, Dockerfile and build args, tagged as the
 * environment's manifests name it, then loaded into the cluster.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { referenceStack } from '../../model/reference';
import type { StackSpec } from '../../model/schema';
import { OpsError } from '../../ops/exec';
import { buildAndLoadImages, planImageBuilds } from '../../ops/images';
import { standIns, type StandIns } from './standins';

let specDir: string;
let tools: StandIns | undefined;
beforeAll(() => {
  specDir = mkdtempSync(join(tmpdir(), 'stackport-images-'));
  mkdirSync(join(specDir, 'app', 'docker'), { recursive: true });
  writeFileSync(join(specDir, 'app', 'Dockerfile'), 'FROM scratch\n');
  writeFileSync(join(specDir, 'app', 'docker', 'worker.Dockerfile'), 'FROM scratch\n');
});
afterAll(() => rmSync(specDir, { recursive: true, force: true }));
afterEach(() => {
  tools?.restore();
  tools = undefined;
});

/** The reference stack with `build` on its app components (the API image is also the migration's). */
function withBuilds(builds: Record<string, unknown>, environments?: StackSpec['environments']): StackSpec {
  const components = Object.fromEntries(Object.entries(referenceStack.components).map(([n, c]) => [n, builds[n] ? { ...c, build: builds[n] } : c]));
  return { ...referenceStack, components, environments: environments ?? referenceStack.environments } as StackSpec;
}

const apiBuild = { context: 'app', target: 'api', args: { BASE: 'python:3.12-slim-bookworm', PIP_INDEX: 'https://pypi.org/simple' } };
const spec = withBuilds({
  api: apiBuild,
  migrate: apiBuild,
  dashboard: { context: 'app', target: 'dashboard' },
  worker: { context: './app', dockerfile: 'docker/worker.Dockerfile' },
});
const quiet = { log: () => undefined, specFile: 'stack.yaml' };
const app = () => join(specDir, 'app');

describe('buildAndLoadImages', () => {
  it('kind: docker build per image (the API image once, for api and migrate), each followed by kind load into the cluster', () => {
    tools = standIns({ docker: [], kind: [] });
    const built = buildAndLoadImages('kind', 'dataplatform', spec, specDir, quiet);
    expect(built.map((b) => [b.image, b.components])).toEqual([
      ['stackport.local/dataplatform-api:0.1.0', ['api', 'migrate']],
      ['stackport.local/dataplatform-dashboard:0.1.0', ['dashboard']],
      ['stackport.local/dataplatform-worker:0.1.0', ['worker']],
    ]);
    expect(tools.commands()).toEqual([
      `docker build -t stackport.local/dataplatform-api:0.1.0 -f ${app()}/Dockerfile --target api --build-arg BASE=python:3.12-slim-bookworm --build-arg PIP_INDEX=https://pypi.org/simple ${app()}`,
      'kind load docker-image stackport.local/dataplatform-api:0.1.0 --name dataplatform',
      `docker build -t stackport.local/dataplatform-dashboard:0.1.0 -f ${app()}/Dockerfile --target dashboard ${app()}`,
      'kind load docker-image stackport.local/dataplatform-dashboard:0.1.0 --name dataplatform',
      `docker build -t stackport.local/dataplatform-worker:0.1.0 -f ${app()}/docker/worker.Dockerfile ${app()}`,
      'kind load docker-image stackport.local/dataplatform-worker:0.1.0 --name dataplatform',
    ]);
  });

  it("k3d: the image the k3d manifests use (an environment override here) is built and imported with k3d; a component disabled there is skipped", () => {
    const overridden = withBuilds({ api: apiBuild, pgadmin: { context: 'app' } }, { k3d: { components: { api: { image: 'registry.example.com/acme/api:dev' }, pgadmin: { enabled: false } } } });
    tools = standIns({ docker: [], k3d: [] });
    buildAndLoadImages('k3d', 'dataplatform', overridden, specDir, quiet);
    expect(tools.commands()).toEqual([
      `docker build -t registry.example.com/acme/api:dev -f ${app()}/Dockerfile --target api --build-arg BASE=python:3.12-slim-bookworm --build-arg PIP_INDEX=https://pypi.org/simple ${app()}`,
      'k3d image import registry.example.com/acme/api:dev -c dataplatform',
    ]);
  });

  it('a failed build stops before loading, naming the image and the component', () => {
    tools = standIns({ docker: [{ match: 'build *', stderr: 'ERROR: failed to solve: target stage "apii" could not be found\n', exit: 1 }], kind: [] });
    expect(() => buildAndLoadImages('kind', 'dataplatform', withBuilds({ api: apiBuild }), specDir, quiet)).toThrow(
      new OpsError('docker build of stackport.local/dataplatform-api:0.1.0 (components.api.build) failed (docker exit 1); its output is above'),
    );
    expect(tools.commands().filter((c) => c.startsWith('kind'))).toEqual([]);
  });

  it('no component with build: runs nothing', () => {
    tools = standIns({ docker: [], kind: [] });
    expect(buildAndLoadImages('kind', 'dataplatform', referenceStack, specDir, quiet)).toEqual([]);
    expect(tools.commands()).toEqual([]);
  });

  it('warns when the environment pulls Always, which would bypass the loaded copies', () => {
    tools = standIns({ docker: [], kind: [] });
    const lines: string[] = [];
    buildAndLoadImages('kind', 'dataplatform', withBuilds({ api: apiBuild }, { kind: { imagePullPolicy: 'Always' } }), specDir, { log: (l) => lines.push(l) });
    expect(lines[0]).toBe('images: environments.kind.imagePullPolicy is Always, so pods pull these images from their registry instead of using the copies loaded here');
  });
});

describe('planImageBuilds errors name the spec file, the field and the path', () => {
  it('a build context that does not exist', () => {
    expect(() => planImageBuilds('kind', withBuilds({ dashboard: { context: '../missing-app' } }), specDir, quiet)).toThrow(
      new OpsError(`stack.yaml: components.dashboard.build.context "../missing-app" is not a folder: ${join(specDir, '..', 'missing-app')} (the context is relative to the spec file's folder, ${specDir})`),
    );
  });

  it('a Dockerfile that is not in the context', () => {
    expect(() => planImageBuilds('kind', withBuilds({ worker: { context: 'app', dockerfile: 'worker.Dockerfile' } }), specDir, quiet)).toThrow(
      new OpsError(`stack.yaml: components.worker.build.dockerfile: ${app()}/worker.Dockerfile does not exist (the dockerfile is relative to the build context)`),
    );
  });

  it('a build without a context', () => {
    expect(() => planImageBuilds('kind', withBuilds({ api: { target: 'api' } }), specDir, quiet)).toThrow(
      new OpsError('stack.yaml: components.api.build.context must be the path of the build context (a folder, relative to the spec file)'),
    );
  });

  it('two components building one image differently', () => {
    expect(() => planImageBuilds('kind', withBuilds({ api: apiBuild, migrate: { context: 'app', target: 'migrate' } }), specDir, quiet)).toThrow(
      new OpsError('stack.yaml: components.migrate.build builds stackport.local/dataplatform-api:0.1.0 differently from components.api.build; one image needs one build'),
    );
  });
});
