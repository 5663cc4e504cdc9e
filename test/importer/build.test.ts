/**
 * Compose `build:` -> the spec's `build`: string and object forms, args, hot-reload bind mounts and
 * compose watch rules as sync rules, and builds that would read outside the project folder refused.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatWarning, importCompose } from '../../importer/import';
import { ComposeError } from '../../importer/load/errors';

/** A project folder with these files; `compose.yaml` is the compose file. */
function project(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'stackport-build-'));
  const dir = join(root, 'project');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const APP = { 'api/Dockerfile': 'FROM python:3.12-slim AS base\nFROM base AS dev\n', 'api/app/main.py': 'app = None\n', 'api/data/rows.csv': 'a,b\n' };
const service = (lines: string[]) => ['services:', '  api:', '    image: ghcr.io/acme/api:1.0.0', '    ports: ["8000:8000"]', ...lines.map((l) => `    ${l}`), ''].join('\n');

async function imported(lines: string[], extra: Record<string, string> = {}, out?: string) {
  const dir = project({ ...APP, ...extra, 'compose.yaml': service(lines) });
  const r = await importCompose({ files: [join(dir, 'compose.yaml')], out: out ? join(dir, out) : dir });
  return { api: r.spec.components.api as Record<string, any>, warnings: r.warnings.map(formatWarning), summary: r.summary.get('api') ?? [] };
}

async function failure(lines: string[], extra: Record<string, string> = {}) {
  const dir = project({ ...APP, ...extra, 'compose.yaml': service(lines) });
  try {
    await importCompose({ files: [join(dir, 'compose.yaml')], out: dir });
  } catch (e) {
    expect(e).toBeInstanceOf(ComposeError);
    return (e as Error).message.replace(dir, '<project>');
  }
  return 'imported';
}

describe('compose build', () => {
  it('takes the string form as the context, relative to stack.yaml', async () => {
    const { api, warnings, summary } = await imported(['build: ./api']);
    expect(api.build).toEqual({ context: 'api' });
    expect(warnings.filter((w) => w.startsWith('api: build'))).toEqual([]);
    expect(summary.join('\n')).toContain('built from api by stackport dev; to run it without, build it as ghcr.io/acme/api:1.0.0 and load it into the cluster');
  });

  it('takes context, dockerfile, target and args of the object form; warns about the rest', async () => {
    const { api, warnings } = await imported(['build:', '  context: api', '  dockerfile: Dockerfile', '  target: dev', '  args:', '    PYTHON_VERSION: "3.12"', '    DEBUG: 1', '  cache_from: [ghcr.io/acme/api:cache]']);
    expect(api.build).toEqual({ context: 'api', dockerfile: 'Dockerfile', target: 'dev', args: { PYTHON_VERSION: '3.12', DEBUG: '1' } });
    expect(warnings).toContain('api: build.cache_from: not in the spec: stackport dev builds with context, dockerfile, target and args');
  });

  it('reads list-form args and leaves out secret-looking, secret-valued and shell-supplied ones', async () => {
    const { api, warnings } = await imported(['build:', '  context: api', '  args: ["APP_ENV=dev", "NPM_TOKEN=abc123", "FROM_SHELL", "DB_HOST=${DB_PASSWORD}"]'], { '.env': 'DB_PASSWORD=hunter2hunter2\n' });
    expect(api.build.args).toEqual({ APP_ENV: 'dev' });
    expect(warnings).toContain('api: build.args.NPM_TOKEN: looks like a secret; left out: build arguments stay readable in the image history, so pass it as a build secret');
    expect(warnings).toContain('api: build.args.DB_HOST: looks like a secret; left out: build arguments stay readable in the image history, so pass it as a build secret');
    expect(warnings).toContain('api: build.args.FROM_SHELL: takes its value from the shell running compose; left out: set it in build.args');
  });

  it('writes the context relative to another output folder', async () => {
    const { api } = await imported(['build: ./api'], {}, 'deploy/k8s');
    expect(api.build.context).toBe('../../api');
  });

  it('makes the hot-reload mount of source code a sync rule, and keeps data mounts as volumes', async () => {
    const { api, warnings } = await imported(['build: ./api', 'volumes: ["./api/app:/code/app", "./api/data:/code/data"]']);
    expect(api.build.sync).toEqual([{ from: 'api/app', to: '/code/app' }]);
    expect(api.volumes).toEqual([{ volume: 'data', path: '/code/data' }]);
    expect(warnings.some((w) => w.includes('volumes./code/app'))).toBe(false);
  });

  it('syncs a mount of the whole project folder and a mounted source file', async () => {
    const { api } = await imported(['build: .', 'volumes: [".:/code", "./api/app/main.py:/srv/main.py"]']);
    expect(api.build.sync).toEqual([
      { from: '.', to: '/code' },
      { from: 'api/app/main.py', to: '/srv/main.py' },
    ]);
    expect(api.files).toBeUndefined();
  });

  it('still refuses a source mount outside the build context, saying why', async () => {
    const { api, warnings } = await imported(['build: ./api', 'volumes: ["./lib:/code/lib"]'], { 'lib/util.py': 'x = 1\n' });
    expect(api.build.sync).toBeUndefined();
    expect(warnings).toContain('api: volumes./code/lib: bind mount of source code (./lib); left out: build the code into the image (it is outside the build context, so it cannot be synced)');
  });

  it('still refuses source mounts of a service without build', async () => {
    const { api, warnings } = await imported(['volumes: ["./api/app:/code/app"]']);
    expect(api.build).toBeUndefined();
    expect(warnings).toContain('api: volumes./code/app: bind mount of source code (./api/app); left out: build the code into the image');
  });

  it('turns compose watch sync rules into sync rules', async () => {
    const { api, warnings } = await imported(['build: ./api', 'develop:', '  watch:', '    - {action: sync, path: ./api/app, target: /code/app, ignore: ["*.pyc"]}', '    - {action: rebuild, path: ./api/requirements.txt}']);
    expect(api.build.sync).toEqual([{ from: 'api/app', to: '/code/app' }]);
    expect(warnings).toContain('api: develop.watch[0].ignore: not in the spec: every file under the path is synced');
  });

  it('leaves out a remote context with a warning, and keeps the image', async () => {
    const { api, warnings } = await imported(['build: https://github.com/acme/api.git#main']);
    expect(api.build).toBeUndefined();
    expect(api.image).toBe('ghcr.io/acme/api:1.0.0');
    expect(warnings).toContain('api: build.context: https://github.com/acme/api.git#main is a remote build context; stackport dev builds from a folder: clone it into the project folder and point build.context there');
  });

  it.each([
    ['a context climbing out of the project', ['build: ../elsewhere'], 'services.api.build: ../elsewhere is outside the project folder'],
    ['an absolute context', ['build:', '  context: /etc'], 'services.api.build.context: /etc is outside the project folder'],
    ['a Dockerfile outside the project', ['build:', '  context: api', '  dockerfile: ../../Dockerfile'], 'services.api.build.dockerfile: ../../Dockerfile is outside the project folder'],
  ])('stops at %s, naming file and field', async (_, lines, expected) => {
    const message = await failure(lines);
    expect(message).toContain(`<project>/compose.yaml:`);
    expect(message).toContain(expected);
    expect(message).toContain('stackport dev would');
  });
});
