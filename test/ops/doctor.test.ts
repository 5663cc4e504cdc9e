/** stackport doctor and requireTools against stand-ins printing each tool's own version output. */
import { afterEach, describe, expect, it } from 'vitest';
import { checkTool, doctor, doctorReport, requireTools, TOOL_CHECKS } from '../../ops/doctor';
import { OpsError } from '../../ops/exec';
import { standIns, type StandIns, type Reply } from './standins';

let tools: StandIns | undefined;
afterEach(() => {
  tools?.restore();
  tools = undefined;
});

const KUBECTL_JSON = JSON.stringify({ clientVersion: { major: '1', minor: '31', gitVersion: 'v1.31.2', goVersion: 'go1.22.8', platform: 'linux/amd64' }, kustomizeVersion: 'v5.4.2' });
const OUTPUTS: Record<string, string> = {
  kubectl: `${KUBECTL_JSON}\n`,
  docker: '27.3.1\n',
  kind: 'kind v0.27.0 go1.24.0 linux/amd64\n',
  k3d: 'k3d version v5.8.3\nk3s version v1.31.5-k3s1 (default)\n',
  helm: 'v3.17.0+g301108e\n',
  tilt: 'v0.33.21, built 2024-11-08\n',
};
const version = (tool: string, stdout: string, extra: Partial<Reply> = {}): Record<string, Reply[]> => ({ [tool]: [{ match: `${TOOL_CHECKS[tool as keyof typeof TOOL_CHECKS].args.join(' ')}`, stdout, ...extra }] });
const all = (overrides: Record<string, Reply[]> = {}) => Object.assign({}, ...Object.entries(OUTPUTS).map(([t, out]) => version(t, out)), overrides);

describe('version parsing, from each tool\'s own output', () => {
  it.each([
    ['kubectl', '1.31.2'],
    ['docker', '27.3.1'],
    ['kind', '0.27.0'],
    ['k3d', '5.8.3'],
    ['helm', '3.17.0'],
    ['tilt', '0.33.21'],
  ] as const)('%s → %s', (tool, expected) => {
    tools = standIns(version(tool, OUTPUTS[tool]));
    const r = checkTool(tool, 'kind');
    expect(r.version).toBe(expected);
    expect(r.path).toBe(`${tools.dir}/bin/${tool}`);
    expect(tools.commands()).toEqual([`${tool} ${TOOL_CHECKS[tool].args.join(' ')}`]);
  });
});

describe('doctorReport', () => {
  it('everything present and recent: ok, with what each environment does not need', () => {
    tools = standIns(all());
    const byTool = Object.fromEntries(doctorReport('k3d').map((r) => [r.tool, [r.status, r.needed]]));
    expect(byTool).toEqual({ kubectl: ['ok', true], docker: ['ok', true], kind: ['ok', false], k3d: ['ok', true], helm: ['ok', true], tilt: ['ok', false] });
  });

  it('a missing tool the environment needs is "missing"; one it does not need is "not needed"', () => {
    const { kind: _kind, ...rest } = all();
    tools = standIns(rest);
    expect(checkTool('kind', 'kind')).toMatchObject({ status: 'missing', needed: true });
    expect(checkTool('kind', 'k3d')).toMatchObject({ status: 'not needed', needed: false });
  });

  it('an old tool is "too old", with the version found and the minimum', () => {
    tools = standIns(version('kind', 'kind v0.20.0 go1.20.4 linux/amd64\n'));
    expect(checkTool('kind', 'kind')).toMatchObject({ status: 'too old', version: '0.20.0', minimum: '0.27.0' });
  });

  it('a docker client without its daemon is unusable, and says why', () => {
    tools = standIns(version('docker', '27.3.1\n', { stderr: 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n', exit: 1 }));
    expect(checkTool('docker', 'kind')).toMatchObject({ status: 'unusable', version: '27.3.1', note: expect.stringContaining('Cannot connect to the Docker daemon') });
  });

  it('output without a version is unusable', () => {
    tools = standIns(version('helm', 'Error: unknown flag: --short\n', { exit: 1 }));
    expect(checkTool('helm', 'kind')).toMatchObject({ status: 'unusable', note: expect.stringContaining('printed no version') });
  });
});

describe('requireTools', () => {
  it('passes when every named tool is usable', () => {
    tools = standIns(all());
    expect(requireTools(['kubectl', 'docker', 'kind', 'helm'], 'kind').map((r) => r.version)).toEqual(['1.31.2', '27.3.1', '0.27.0', '3.17.0']);
  });

  it('names a missing tool, what it is for and where to install it', () => {
    const { k3d: _k3d, ...rest } = all();
    tools = standIns(rest);
    expect(() => requireTools(['docker', 'k3d'], 'k3d')).toThrow(
      new OpsError('k3d not found on PATH: stackport needs it because it creates the k3d cluster; install it from https://k3d.io/#installation (5.7 or newer) (stackport doctor lists every tool it uses)'),
    );
  });

  it('names a too-old tool with the version and path found and the minimum', () => {
    tools = standIns(all(version('helm', 'v3.12.3+g3a31588\n')));
    let error: unknown;
    try {
      requireTools(['kubectl', 'helm'], 'kind');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(OpsError);
    expect((error as Error).message).toBe(
      `helm 3.12.3 at ${tools.dir}/bin/helm is older than 3.14.0, the oldest stackport supports (stackport needs it because it installs cert-manager); upgrade it from https://helm.sh/docs/intro/install/ (3.14 or newer) (stackport doctor lists every tool it uses)`,
    );
  });
});

describe('stackport doctor', () => {
  it('prints a table and exits 0 when the environment has what it needs (k3d is not needed for kind)', async () => {
    const { k3d: _k3d, ...rest } = all();
    tools = standIns(rest);
    const out: string[] = [];
    expect(await doctor([], (s) => out.push(s))).toBe(0);
    const lines = out.join('').split('\n');
    expect(lines[0]).toBe('environment: kind');
    expect(lines[1]).toMatch(/^tool +status +version +minimum +path$/);
    expect(lines.find((l) => l.startsWith('kind '))).toMatch(/^kind +ok +0\.27\.0 +0\.27\.0 +\S+\/bin\/kind$/);
    expect(lines.find((l) => l.startsWith('k3d '))).toMatch(/^k3d +not needed for kind +- +5\.7\.0 +-$/);
  });

  it('exits 1 when a needed tool is missing, and says where to get it', async () => {
    const { docker: _docker, ...rest } = all();
    tools = standIns(rest);
    const out: string[] = [];
    expect(await doctor(['k3d'], (s) => out.push(s))).toBe(1);
    expect(out.join('')).toMatch(/^docker +missing +- +24\.0\.0 +-$/m);
    expect(out.join('')).toContain('docker not found on PATH: stackport needs it because it builds images and runs kind and k3d nodes; install it from https://docs.docker.com/engine/install/');
  });

  it('refuses an unknown environment', async () => {
    await expect(doctor(['minikube'])).rejects.toThrow(new OpsError('usage: stackport doctor [kind|k3d|prod] (got: minikube)', 2));
  });
});
