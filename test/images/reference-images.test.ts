/**
 * The reference stack runs examples/dataplatform-app: its images are the ones scripts/images/build.sh
 * builds (same names, same version), from Dockerfile targets that exist, and the commands the spec
 * gives each component name files those images contain.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { referenceStack } from '../../model/reference';

const ROOT = path.join(__dirname, '..', '..');
const APP = path.join(ROOT, 'examples', 'dataplatform-app');

function versions(): Record<string, string> {
  const text = fs.readFileSync(path.join(ROOT, 'scripts', 'images', 'versions.env'), 'utf8');
  return Object.fromEntries(
    text
      .split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).replace(/^"|"$/g, '')]),
  );
}

const dockerfile = fs.readFileSync(path.join(APP, 'Dockerfile'), 'utf8');
/** target -> the paths its COPY lines bring into the working directory */
function copiedPaths(target: string): string[] {
  const stage = dockerfile.split(/^FROM /m).find((s) => new RegExp(`^\\S+ AS ${target}\\s*$`, 'm').test(s.split('\n')[0]));
  expect(stage, `Dockerfile has no target ${target}`).toBeDefined();
  return [...stage!.matchAll(/^COPY (.+) \S+$/gm)].flatMap((m) => m[1].split(/\s+/)).map((p) => p.replace(/\/$/, ''));
}

describe('reference stack images', () => {
  const version = versions().DATAPLATFORM_APP_VERSION;
  const components = referenceStack.components as Record<string, { image?: string; command?: string[] }>;
  const targets: Record<string, string> = { api: 'api', migrate: 'api', worker: 'worker', dashboard: 'dashboard' };

  it.each(Object.entries(targets))('%s runs stackport.local/dataplatform-<target> at the version build.sh builds', (name, target) => {
    expect(version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(components[name].image).toBe(`stackport.local/dataplatform-${target}:${version}`);
  });

  it('the files each command names are in its image', () => {
    const has = (target: string, file: string) => {
      const copied = copiedPaths(target);
      expect(copied.some((p) => file === p || file.startsWith(`${p}/`)), `${file} is not copied into the ${target} image (COPY ${copied.join(', ')})`).toBe(true);
      expect(fs.existsSync(path.join(APP, file)), `${file} missing from examples/dataplatform-app`).toBe(true);
    };
    expect(components.api.command?.[1]).toBe('app.main:app');
    has('api', 'app/main.py');
    has('api', 'gunicorn.conf.py');
    expect(components.migrate.command).toEqual(['alembic', 'upgrade', 'head']);
    has('api', 'alembic.ini');
    has('api', 'migrations/env.py');
    expect(components.worker.command?.slice(0, 3)).toEqual(['python', '-m', 'worker']);
    has('worker', 'worker/__main__.py');
    expect(components.dashboard.command?.slice(0, 3)).toEqual(['streamlit', 'run', 'dashboard/app.py']);
    has('dashboard', 'dashboard/app.py');
  });

  it('every pinned requirement carries a hash', () => {
    for (const f of ['api', 'worker', 'dashboard']) {
      const text = fs.readFileSync(path.join(APP, 'requirements', `${f}.txt`), 'utf8');
      const pins = text.split('\n').filter((l) => /^[a-z0-9]/i.test(l));
      expect(pins.length).toBeGreaterThan(2);
      for (const p of pins) expect(p, `${f}.txt: ${p}`).toMatch(/^[A-Za-z0-9._-]+==\S+ \\$/);
      expect(text.match(/--hash=sha256:/g)!.length).toBeGreaterThanOrEqual(pins.length);
    }
  });
});
