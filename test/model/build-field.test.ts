/** The `build` field: what `stackport dev` builds and syncs. Each mistake names file and field; synthesis ignores it. */
import { describe, expect, it } from 'vitest';
import { buildManifests } from '../../charts/synth';
import { parseSpec, parseSpecYaml } from '../../model/load';
import { resolveStack } from '../../model/presets';
import { referenceStack } from '../../model/reference';

const web = { kind: 'web', image: 'ghcr.io/acme/app:1.0.0', port: 8000, healthPath: '/health' };
const spec = (build: unknown, components: object = {}) => ({ name: 'lab', components: { app: { ...web, build }, ...components } });
const problem = (input: object) => {
  try {
    parseSpec(input, 'lab.yaml');
  } catch (e) {
    return (e as Error).message;
  }
  return 'no problem';
};

describe('build field', () => {
  it('accepts a full build on web, worker and job components', () => {
    const build = { context: './app', dockerfile: 'docker/Dockerfile.dev', target: 'dev', args: { PYTHON_VERSION: '3.12' }, sync: [{ from: 'app/src', to: '/code/src' }] };
    const parsed = parseSpec(
      spec(build, { worker: { kind: 'worker', image: 'ghcr.io/acme/app:1.0.0', build }, migrate: { kind: 'job', image: 'ghcr.io/acme/app:1.0.0', build: { context: 'app', dockerfile: 'docker/Dockerfile.dev', target: 'dev', args: { PYTHON_VERSION: '3.12' } } } }),
      'lab.yaml',
    );
    expect(parsed.components.app).toMatchObject({ build });
  });

  it('accepts a context above the spec file\'s folder', () => {
    expect(problem(spec({ context: '..', sync: [{ from: '../src', to: '/src' }] }))).toBe('no problem');
  });

  it.each([
    ['a missing context', {}, 'lab.yaml: components.app.build.context: is required (expected string)'],
    ['an absolute context', { context: '/home/me/app' }, 'components.app.build.context: must be a path relative to the spec file\'s folder, with "/" between folders, such as "." or "./api"'],
    ['a home-relative context', { context: '~/app' }, 'components.app.build.context: must be a path relative to the spec file\'s folder'],
    ['a URL context', { context: 'https://github.com/acme/app.git' }, 'components.app.build.context: must be a path relative to the spec file\'s folder'],
    ['backslashes', { context: 'app\\src' }, 'components.app.build.context: must be a path relative to the spec file\'s folder, with "/" between folders'],
    ['an unknown field', { context: '.', cache_from: ['x'] }, 'lab.yaml: components.app.build.cache_from: unknown field'],
    ['a bad target', { context: '.', target: 'my stage' }, 'components.app.build.target: must be a build stage name such as "api"'],
    ['a secret-looking build argument', { context: '.', args: { NPM_TOKEN: 'x' } }, 'components.app.build.args.NPM_TOKEN: looks like a secret; build arguments stay readable in the image history'],
    ['a relative sync target', { context: '.', sync: [{ from: 'app', to: 'app' }] }, 'components.app.build.sync[0].to: must be an absolute path'],
    ['a sync source outside the context', { context: './api', sync: [{ from: './web', to: '/web' }] }, 'components.app.build.sync[0].from: "./web" is outside the build context "./api"; sync only folders inside it'],
    ['a sync source climbing out of the context', { context: 'api', sync: [{ from: 'api/../web', to: '/web' }] }, 'components.app.build.sync[0].from: "api/../web" is outside the build context "api"'],
  ])('rejects %s', (_, build, expected) => {
    expect(problem(spec(build))).toContain(expected);
  });

  it('rejects two components building one image differently, naming both', () => {
    const input = spec({ context: 'app', target: 'api' }, { migrate: { kind: 'job', image: web.image, build: { context: 'app', target: 'migrate' } } });
    expect(problem(input)).toContain(
      'components.migrate.build: builds ghcr.io/acme/app:1.0.0 differently from components.app.build; components running one image need the same context, dockerfile, target and args',
    );
  });

  it('accepts components sharing an image when only their syncs differ, and "./app" as "app"', () => {
    const input = spec({ context: './app', sync: [{ from: 'app/src', to: '/src' }] }, { migrate: { kind: 'job', image: web.image, build: { context: 'app' } } });
    expect(problem(input)).toBe('no problem');
  });

  it('names the line of the field in a stack.yaml', () => {
    const text = ['name: lab', 'components:', '  app:', '    kind: web', '    image: ghcr.io/acme/app:1.0.0', '    port: 8000', '    healthPath: /health', '    build:', '      context: /abs', ''].join('\n');
    expect(() => parseSpecYaml(text, 'stack.yaml')).toThrow(/stack\.yaml:9:\d+: components\.app\.build\.context: must be a path relative/);
  });

  it('changes no manifest: synthesis ignores it', () => {
    const api = referenceStack.components.api as typeof referenceStack.components.api & { build?: unknown };
    const built = { ...referenceStack, components: { ...referenceStack.components, api: { ...api, build: { context: 'examples/dataplatform-app', target: 'api', sync: [{ from: 'examples/dataplatform-app/app', to: '/srv/dataplatform/app' }] } } } };
    for (const env of ['kind', 'prod'] as const) {
      expect(buildManifests(resolveStack(parseSpec(built, 'built.yaml'), env))).toEqual(buildManifests(resolveStack(referenceStack, env)));
    }
  });
});
