/**
 * Checks of what a workload mounts, exposes, probes and builds: names it refers to exist in the
 * stack, no two things land on one path, port names are unique, every long-running container has a
 * health check it can run, and the source it syncs lies in what it builds from.
 */
import { posix } from 'node:path';
import { formatPath, type SpecIssue } from './errors';
import type { Probe } from './fields';
import type { Component, StackSpec } from './schema';

type Path = (string | number)[];
type Add = (path: Path, message: string) => void;

/** True when a probe replaces the HTTP health endpoint (a command, a TCP port, or none at all). */
export function replacesHttpCheck(p: Probe | undefined): boolean {
  return p === false || (p !== undefined && (p.command !== undefined || p.tcpPort !== undefined));
}

export function checkWorkloads(spec: StackSpec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const add: Add = (path, message) => issues.push({ path, message });
  for (const [name, c] of Object.entries(spec.components)) {
    const base: Path = ['components', name];
    checkReferences(spec, c, base, add);
    checkPaths(c, base, add);
    if (c.kind === 'web') {
      if (c.healthPath === undefined && !replacesHttpCheck(c.probe)) add([...base, 'healthPath'], 'is required unless probe gives a command, a tcpPort or false');
      const names = new Set(['http']);
      c.extraPorts?.forEach((p, i) => {
        if (names.has(p.name)) add([...base, 'extraPorts', i, 'name'], `"${p.name}" is already used${p.name === 'http' ? ' by the main port' : ''}`);
        if (p.port === c.port) add([...base, 'extraPorts', i, 'port'], `${p.port} is the main port`);
        names.add(p.name);
      });
    }
    if (c.kind === 'worker') {
      const names = new Set(c.healthPort !== undefined ? ['health'] : []);
      const numbers = new Set(c.healthPort !== undefined ? [c.healthPort] : []);
      c.ports?.forEach((p, i) => {
        if (names.has(p.name)) add([...base, 'ports', i, 'name'], `"${p.name}" is already used${p.name === 'health' ? ' by the health port' : ''}`);
        if (numbers.has(p.port)) add([...base, 'ports', i, 'port'], p.port === c.healthPort ? `${p.port} is the health port, which the Service already serves` : `${p.port} is listed twice`);
        names.add(p.name);
        numbers.add(p.port);
      });
    }
    if (c.kind === 'stateful') {
      const names = new Set<string>();
      const numbers = new Set<number>();
      c.ports.forEach((p, i) => {
        if (names.has(p.name)) add([...base, 'ports', i, 'name'], `"${p.name}" is listed twice`);
        if (numbers.has(p.port)) add([...base, 'ports', i, 'port'], `${p.port} is listed twice`);
        names.add(p.name);
        numbers.add(p.port);
      });
      const claims = new Set<string>();
      c.data?.forEach((d, i) => {
        if (claims.has(d.name)) add([...base, 'data', i, 'name'], `"${d.name}" is listed twice`);
        claims.add(d.name);
      });
    }
  }
  checkBuilds(spec, add);
  return issues;
}

/** Whether `path` is `dir` or below it; both relative to the spec file's folder. */
export function insideFolder(dir: string, path: string): boolean {
  const r = posix.relative(posix.normalize(dir), posix.normalize(path));
  return r === '' || (r !== '..' && !r.startsWith('../'));
}

/**
 * Live updates copy files the build context holds (Tilt and Skaffold refuse anything else), and
 * components running one image are one build: the development loop tags one image per name.
 */
function checkBuilds(spec: StackSpec, add: Add) {
  const byImage = new Map<string, string>();
  for (const [name, c] of Object.entries(spec.components)) {
    if (!('build' in c) || !c.build) continue;
    const b = c.build;
    const base: Path = ['components', name, 'build'];
    b.sync?.forEach((s, i) => {
      if (!insideFolder(b.context, s.from)) add([...base, 'sync', i, 'from'], `"${s.from}" is outside the build context "${b.context}"; sync only folders inside it`);
    });
    const other = byImage.get(c.image);
    if (other === undefined) byImage.set(c.image, name);
    else {
      const a = spec.components[other] as { build: typeof b };
      const same = (x: typeof b) => JSON.stringify([posix.normalize(x.context), x.dockerfile ?? 'Dockerfile', x.target, Object.entries(x.args ?? {}).sort()]);
      if (same(a.build) !== same(b)) add(base, `builds ${c.image} differently from components.${other}.build; components running one image need the same context, dockerfile, target and args`);
    }
  }
}

function checkReferences(spec: StackSpec, c: Component, base: Path, add: Add) {
  const have = (o: object | undefined) => Object.keys(o ?? {}).join(', ') || 'none';
  if ('envFrom' in c) {
    c.envFrom?.forEach((e, i) => {
      if (!spec.envFiles?.[e]) add([...base, 'envFrom', i], `refers to "${e}", which is not in envFiles (have: ${have(spec.envFiles)})`);
    });
  }
  if ('volumes' in c) {
    c.volumes?.forEach((v, i) => {
      if (!spec.volumes?.[v.volume]) add([...base, 'volumes', i, 'volume'], `refers to "${v.volume}", which is not in volumes (have: ${have(spec.volumes)})`);
    });
  }
}

/** Every path a component mounts something at, with the field that put it there. */
function checkPaths(c: Component, base: Path, add: Add) {
  const seen = new Map<string, string>();
  const claim = (path: string, field: Path) => {
    const label = formatPath(field);
    if (seen.has(path)) add([...base, ...field], `mounts ${path}, which ${seen.get(path)} already mounts`);
    else seen.set(path, label);
  };
  if ('writablePaths' in c && c.writablePaths) c.writablePaths.forEach((p, i) => claim(p, ['writablePaths', i]));
  // Unset, writablePaths is ["/tmp"] (charts/pod.ts): a volume there too would be a duplicate mountPath.
  else if (['web', 'worker', 'job', 'stateful'].includes(c.kind)) seen.set('/tmp', 'writablePaths (default ["/tmp"]; set it without "/tmp")');
  if ('volumes' in c) c.volumes?.forEach((v, i) => claim(v.path, ['volumes', i, 'path']));
  if ('files' in c) for (const p of Object.keys(c.files ?? {})) claim(p, ['files', p]);
  if ('secretFiles' in c) for (const p of Object.keys(c.secretFiles ?? {})) claim(p, ['secretFiles', p]);
  if (c.kind === 'stateful') c.data?.forEach((d, i) => claim(d.path, ['data', i, 'path']));
}
