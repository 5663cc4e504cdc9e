/**
 * Connections written in configuration files a service mounts (a Grafana datasource, an app's
 * settings file, a Prometheus scrape list): `host:port` naming another service of the project.
 * Compose lets every container dial every other one, so such a file is as much evidence of a flow as
 * an environment URL; without it the NetworkPolicies would refuse what the file asks for.
 */
import { basename } from 'node:path';
import type { ComposeService } from '../load/model';
import type { ProjectFolder } from '../load/project-folder';
import { CODE } from './volumes';

export interface ConfigFlow {
  /** The compose service dialed. */
  service: string;
  port: number;
  /** The project file that names it. */
  file: string;
}

// Files that hold settings; code and data are not read (a flow there is the code's business).
const CONFIG_FILE = /\.(ya?ml|json|conf|cnf|ini|toml|cfg|properties|env|xml|template|tmpl|hcl|lua)$/i;
const MOUNT_DEPTH = 2;

/** The readable config files of a service's bind mounts inside the project. */
function mountedFiles(folder: ProjectFolder, s: ComposeService): string[] {
  const files: string[] = [];
  for (const m of s.config.volumes ?? []) {
    if (m.type !== 'bind' || !m.source || !folder.check(m.source).ok) continue;
    const kind = folder.kind(m.source);
    if (kind === 'file' && !CODE.test(basename(m.source))) files.push(m.source);
    if (kind !== 'dir') continue;
    const listed = folder.list(m.source, MOUNT_DEPTH).files;
    // A source tree mounted for hot reload (the project folder itself, with its compose file) is code.
    if (!listed.some((f) => CODE.test(basename(f)))) files.push(...listed.filter((f) => CONFIG_FILE.test(f)));
  }
  return files;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `name:port` of another service, as a whole host (not part of a longer name or a longer port). */
function mentionPattern(names: string[]): RegExp | undefined {
  if (names.length === 0) return undefined;
  const alternatives = [...names].sort((a, b) => b.length - a.length).map(escape).join('|');
  return new RegExp(`(?<![A-Za-z0-9_.-])(${alternatives}):([0-9]{1,5})(?![0-9])`, 'g');
}

// Per project (its services object): the pattern of its service names, and each service's flows.
const patterns = new WeakMap<Record<string, ComposeService>, RegExp | undefined>();
const flowsOf = new WeakMap<Record<string, ComposeService>, Map<string, ConfigFlow[]>>();

/** Flows from the files `s` mounts to the other services of the project, one per service and port. */
export function mountedConfigFlows(folder: ProjectFolder, services: Record<string, ComposeService>, s: ComposeService): ConfigFlow[] {
  let known = flowsOf.get(services);
  if (!known) flowsOf.set(services, (known = new Map()));
  const cached = known.get(s.name);
  if (cached) return cached;
  const out: ConfigFlow[] = [];
  known.set(s.name, out);
  const files = mountedFiles(folder, s);
  if (files.length === 0) return out;
  if (!patterns.has(services)) patterns.set(services, mentionPattern(Object.keys(services)));
  const pattern = patterns.get(services);
  if (!pattern) return out;
  for (const file of files) {
    for (const m of (folder.readText(file) ?? '').matchAll(pattern)) {
      const port = Number(m[2]);
      if (m[1] === s.name || port < 1 || port > 65535 || out.some((f) => f.service === m[1] && f.port === port)) continue;
      out.push({ service: m[1], port, file: folder.shown(file) });
    }
  }
  return out;
}

/** The flows to `s` written in the files the other services mount, each with the service that mounts it. */
export function dialedInMountedConfig(folder: ProjectFolder, services: Record<string, ComposeService>, s: ComposeService): (ConfigFlow & { from: string })[] {
  return Object.values(services)
    .filter((o) => o !== s)
    .flatMap((o) => mountedConfigFlows(folder, services, o).filter((f) => f.service === s.name).map((f) => ({ ...f, from: o.name })));
}
