/**
 * Checks that need the whole spec: relations point at components that can serve them, jobs in
 * `after` exist and form no cycle, overrides fit the component they change.
 */
import type { SpecIssue } from './errors';
import type { Component, StackSpec } from './schema';
import { defaultEnvName, endpointOf, isExternal, normalizeRelation, servedPorts, type ExternalCapable } from './relations';
import { checkPostgres } from './validate-postgres';
import { checkWorkloads, replacesHttpCheck } from './validate-workloads';

type Path = (string | number)[];

export function checkSemantics(spec: StackSpec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const add = (path: Path, message: string) => issues.push({ path, message });
  const components = spec.components;
  const names = Object.keys(components);

  for (const [name, c] of Object.entries(components)) {
    const base: Path = ['components', name];
    if ('uses' in c && c.uses) checkUses(spec, name, c, base, add);
    if ('after' in c && c.after) {
      c.after.forEach((dep, i) => {
        const target = components[dep];
        if (!target) add([...base, 'after', i], `refers to "${dep}", which is not a component (have: ${names.join(', ')})`);
        else if (target.kind !== 'job') add([...base, 'after', i], `"${dep}" is a ${target.kind}; only jobs can be waited for (use "uses" for services)`);
        else if (dep === name) add([...base, 'after', i], 'a component cannot wait for itself');
      });
    }
    if ('secretEnv' in c && c.secretEnv && c.env) {
      for (const k of Object.keys(c.secretEnv)) if (k in c.env) add([...base, 'secretEnv', k], `is also set in env; keep one`);
    }
    if (c.kind === 'worker') checkWorker(c, base, add);
    if (c.kind === 'web' && c.metricsInterval && !c.metricsPath) add([...base, 'metricsInterval'], 'needs metricsPath (the interval is for scraping it)');
    if (c.kind === 'web' && c.routes && c.route !== undefined) add([...base, 'routes'], 'set route or routes, not both');
    if (c.kind === 'web' && c.autoscaling && c.replicas && c.autoscaling.maxReplicas < c.replicas) {
      add([...base, 'autoscaling', 'maxReplicas'], `must be at least replicas (${c.replicas})`);
    }
    if (isExternal(c)) checkExternal(spec, name, c, base, add);
    if (c.kind === 'postgres') {
      checkPostgres(spec, name, c, add);
    }
    if (c.kind === 'pgadmin') {
      c.servers?.forEach((s, i) => {
        if (components[s]?.kind !== 'postgres') add([...base, 'servers', i], `"${s}" is not a postgres component`);
      });
    }
  }
  checkCycles(spec, add);
  checkOverrides(spec, add);
  return [...issues, ...checkWorkloads(spec)];
}

/** What each external-capable kind runs in the cluster, which an external server does not: none of it may be set. */
const IN_CLUSTER_ONLY: Record<ExternalCapable['kind'], string[]> = {
  postgres: ['image', 'storage', 'sharedMemory', 'runAsUser', 'resources'],
  redis: ['image', 'storage', 'maxMemory', 'cache', 'evictionPolicy', 'runAsUser', 'resources'],
};

function checkExternal(spec: StackSpec, name: string, c: ExternalCapable, base: Path, add: (p: Path, m: string) => void) {
  const { host, port } = endpointOf(spec, name);
  const where = `${host}:${port}`;
  for (const f of IN_CLUSTER_ONLY[c.kind]) {
    if ((c as Record<string, unknown>)[f] !== undefined) add([...base, f], `applies to a ${c.kind} run in the cluster, but this one is external (${where}): remove it, or remove external`);
  }
  if (c.kind === 'postgres' && c.backup?.enabled) add([...base, 'backup', 'enabled'], 'backups run only for an in-cluster server; back up the external server where it runs');
}

function checkUses(spec: StackSpec, name: string, c: Component & { uses?: unknown[] }, base: Path, add: (p: Path, m: string) => void) {
  const envNames = new Map<string, number>();
  (c.uses ?? []).forEach((raw, i) => {
    const r = normalizeRelation(raw as never);
    const path: Path = [...base, 'uses', i];
    const toPath: Path = typeof raw === 'string' ? path : [...path, 'to'];
    const target = spec.components[r.to];
    if (!target) return add(toPath, `refers to "${r.to}", which is not a component (have: ${Object.keys(spec.components).join(', ')})`);
    if (r.to === name) return add(toPath, 'a component cannot use itself');
    if (target.kind === 'worker' && servedPorts(target).length === 0) {
      const why = target.mode === 'continuous' ? 'serves no port: give it ports (or a healthPort)' : 'is scheduled and serves no port: only a continuous worker with ports can be used';
      return add(toPath, `"${r.to}" is a worker that ${why}`);
    }
    if (!['postgres', 'redis', 'web', 'stateful', 'worker'].includes(target.kind)) {
      return add(toPath, `"${r.to}" is a ${target.kind}; components can use postgres, redis, web, stateful or continuous worker components${target.kind === 'job' ? ' (wait for jobs with "after")' : ''}`);
    }
    if (target.kind === 'stateful' || target.kind === 'worker') {
      // No URL is derived for a generic server or a worker, so naming or shaping one means nothing.
      for (const f of ['env', 'scheme'] as const) if (r[f] !== undefined) add([...path, f], `"${r.to}" is ${target.kind === 'worker' ? 'a worker' : 'stateful'} and gets no connection variable; set the app's own settings in env`);
    }
    if (target.kind !== 'postgres') {
      for (const f of ['database', 'access'] as const) if (r[f] !== undefined) add([...path, f], `applies to postgres, but "${r.to}" is ${target.kind}`);
    } else {
      if (r.database && !target.databases.some((d) => d.name === r.database)) {
        add([...path, 'database'], `"${r.database}" is not a database of ${r.to} (have: ${target.databases.map((d) => d.name).join(', ')})`);
      }
    }
    if (r.redisDb !== undefined && target.kind !== 'redis') add([...path, 'redisDb'], `applies to redis, but "${r.to}" is ${target.kind}`);
    if (target.kind === 'stateful' || target.kind === 'worker') return;
    const envName = r.env ?? defaultEnvName(target.kind, r.to);
    if (envNames.has(envName)) add([...path, 'env'], `${envName} is already set by uses[${envNames.get(envName)}]; give one of them another "env" name`);
    envNames.set(envName, i);
    if ('env' in c && (c.env as Record<string, string> | undefined)?.[envName] !== undefined) add([...base, 'env', envName], `is derived from uses[${i}]; remove it from env`);
  });
}

function checkWorker(c: Extract<Component, { kind: 'worker' }>, base: Path, add: (p: Path, m: string) => void) {
  const continuous = c.mode === 'continuous';
  if (continuous) {
    const probed = replacesHttpCheck(c.probe);
    if (c.healthPort === undefined && !probed) add([...base, 'healthPort'], 'is required when mode is continuous, unless probe gives a command, a tcpPort or false');
    if (c.healthPath === undefined && !probed) add([...base, 'healthPath'], 'is required when mode is continuous, unless probe gives a command, a tcpPort or false');
    if (c.metricsPath !== undefined && c.healthPort === undefined) add([...base, 'metricsPath'], 'needs healthPort (metrics are scraped on that port)');
    if (c.metricsInterval !== undefined && c.metricsPath === undefined) add([...base, 'metricsInterval'], 'needs metricsPath (the interval is for scraping it)');
    for (const f of ['schedule', 'timeZone', 'startingDeadlineSeconds', 'history'] as const) {
      if (c[f] !== undefined) add([...base, f], 'applies only to mode scheduled');
    }
  } else {
    for (const f of ['healthPort', 'healthPath', 'livenessPath', 'metricsPath', 'metricsInterval', 'replicas', 'probe', 'ports'] as const) if (c[f] !== undefined) add([...base, f], 'applies only to mode continuous');
  }
}

function checkCycles(spec: StackSpec, add: (p: Path, m: string) => void) {
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, trail: string[]): void => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      add(['components', name, 'after'], `forms a cycle: ${[...trail.slice(trail.indexOf(name)), name].join(' -> ')}`);
      return;
    }
    state.set(name, 'visiting');
    const c = spec.components[name];
    // A component waiting for itself is reported on its own; not again as a cycle.
    for (const dep of (c && 'after' in c ? c.after : undefined) ?? []) if (spec.components[dep] && dep !== name) visit(dep, [...trail, name]);
    state.set(name, 'done');
  };
  Object.keys(spec.components).forEach((n) => visit(n, []));
}

const OVERRIDABLE: Record<string, Component['kind'][]> = {
  replicas: ['web', 'worker'],
  autoscaling: ['web'],
  storage: ['postgres', 'redis'],
  backup: ['postgres'],
  env: ['web', 'worker', 'job', 'stateful'],
};

function checkOverrides(spec: StackSpec, add: (p: Path, m: string) => void) {
  for (const [envName, o] of Object.entries(spec.environments ?? {})) {
    for (const [name, override] of Object.entries(o?.components ?? {})) {
      const path: Path = ['environments', envName, 'components', name];
      const c = spec.components[name];
      if (!c) {
        add(path, `refers to "${name}", which is not a component`);
        continue;
      }
      for (const [field, kinds] of Object.entries(OVERRIDABLE)) {
        if ((override as Record<string, unknown>)[field] !== undefined && !kinds.includes(c.kind)) {
          add([...path, field], `cannot be set on a ${c.kind} component (applies to ${kinds.join(', ')})`);
        }
      }
      if (override.replicas !== undefined && c.kind === 'worker' && c.mode !== 'continuous') add([...path, 'replicas'], 'applies to a continuous worker only');
      if (isExternal(c)) {
        for (const f of ['image', 'storage', 'resources', 'backup'] as const) {
          if (override[f] !== undefined && (f !== 'backup' || c.kind === 'postgres')) add([...path, f], `${name} is an external ${c.kind} (${c.external.host}): nothing of it runs here, so there is nothing to change`);
        }
      }
    }
  }
}
