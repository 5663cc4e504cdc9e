/**
 * `kubectl get … -o json` answered in-process: the tests poll the API server every second while
 * they wait, and one kubectl process per poll (a Go binary start, a TLS handshake, discovery read
 * from disk) cost more CPU on the two-core node than the pods under test. The arguments are read as
 * kubectl reads them, for the resources the tests use; anything else (returns undefined) still goes
 * to kubectl. The requests go through one `kubectl proxy` on a unix socket (so it authenticates as
 * the kubeconfig says, inside the node's network namespace where that is where the API listens).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface Resource {
  apiVersion: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

const r = (apiVersion: string, kind: string, plural: string, namespaced: boolean, ...aliases: string[]): [string[], Resource] => [
  [plural, kind.toLowerCase(), ...aliases],
  { apiVersion, kind, plural, namespaced },
];

const RESOURCES = new Map<string, Resource>(
  [
    r('v1', 'Pod', 'pods', true, 'po'),
    r('v1', 'Service', 'services', true, 'svc'),
    r('v1', 'Endpoints', 'endpoints', true, 'ep'),
    r('v1', 'Secret', 'secrets', true),
    r('v1', 'ConfigMap', 'configmaps', true, 'cm'),
    r('v1', 'ServiceAccount', 'serviceaccounts', true, 'sa'),
    r('v1', 'PersistentVolumeClaim', 'persistentvolumeclaims', true, 'pvc'),
    r('v1', 'Event', 'events', true, 'ev'),
    r('v1', 'PersistentVolume', 'persistentvolumes', false, 'pv'),
    r('v1', 'Node', 'nodes', false, 'no'),
    r('v1', 'Namespace', 'namespaces', false, 'ns'),
    r('apps/v1', 'Deployment', 'deployments', true, 'deploy'),
    r('apps/v1', 'StatefulSet', 'statefulsets', true, 'sts'),
    r('apps/v1', 'ReplicaSet', 'replicasets', true, 'rs'),
    r('apps/v1', 'DaemonSet', 'daemonsets', true, 'ds'),
    r('batch/v1', 'Job', 'jobs', true),
    r('batch/v1', 'CronJob', 'cronjobs', true, 'cj'),
    r('policy/v1', 'PodDisruptionBudget', 'poddisruptionbudgets', true, 'pdb'),
    r('networking.k8s.io/v1', 'NetworkPolicy', 'networkpolicies', true, 'netpol'),
    r('storage.k8s.io/v1', 'StorageClass', 'storageclasses', false, 'sc'),
  ].flatMap(([names, res]) => (names as string[]).map((n) => [n, res as Resource])),
);

export interface RestGet {
  /** One request per resource type, in the order kubectl lists them. */
  requests: Array<{ path: string; resource: Resource }>;
  /** A named object (kubectl prints it alone) rather than a list. */
  named: boolean;
  /** What kubectl would say when the named object is missing. */
  what: string;
}

/** The REST requests `kubectl <args> -o json` makes, or undefined when it is not a plain get. */
export function restGet(args: string[]): RestGet | undefined {
  let namespace = 'default';
  let allNamespaces = false;
  const labels: string[] = [];
  const fields: string[] = [];
  const words: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = (flag: string): string | undefined => (a === flag ? args[++i] : a.startsWith(`${flag}=`) ? a.slice(flag.length + 1) : undefined);
    const ns = value('-n') ?? value('--namespace');
    const label = value('-l') ?? value('--selector');
    const field = value('--field-selector');
    if (a === '-A' || a === '--all-namespaces') allNamespaces = true;
    else if (ns !== undefined) namespace = ns;
    else if (label !== undefined) labels.push(label);
    else if (field !== undefined) fields.push(field);
    else if (a.startsWith('-')) return undefined; // -o, -A, --ignore-not-found, …: kubectl's own
    else words.push(a);
  }
  if (words[0] !== 'get' || words.length < 2 || words.length > 3) return undefined;
  let [types, name] = [words[1], words[2]];
  if (!name && types.includes('/')) [types, name] = types.split('/', 2);
  const resources = types.split(',').map((t) => RESOURCES.get(t.toLowerCase()));
  if (resources.some((res) => !res) || (name && (resources.length > 1 || allNamespaces))) return undefined;
  const query = new URLSearchParams();
  if (labels.length > 0) query.set('labelSelector', labels.join(','));
  if (fields.length > 0) query.set('fieldSelector', fields.join(','));
  const qs = query.size > 0 ? `?${query}` : '';
  const requests = (resources as Resource[]).map((resource) => {
    const base = resource.apiVersion.includes('/') ? `/apis/${resource.apiVersion}` : `/api/${resource.apiVersion}`;
    const scope = resource.namespaced && !allNamespaces ? `/namespaces/${encodeURIComponent(namespace)}` : '';
    return { path: `${base}${scope}/${resource.plural}${name ? `/${encodeURIComponent(name)}` : ''}${name ? '' : qs}`, resource };
  });
  return { requests, named: Boolean(name), what: name ? `${resources[0]!.plural} "${name}"` : types };
}

/** One `kubectl proxy` on a unix socket, started on first use and killed with this process. */
export class ApiProxy {
  private child?: ChildProcess;
  private dir = '';
  private ready?: Promise<string>;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 8 });

  /**
   * `parent` holds the socket's folder: the cluster's own state folder, removed with the cluster, since
   * vitest ends workers without running exit handlers. A unix socket path must fit in 108 bytes.
   */
  constructor(
    private readonly kubectl: (args: string[]) => { cmd: string; args: string[] },
    private readonly parent = tmpdir(),
  ) {}

  private start(): Promise<string> {
    const parent = this.parent.length <= 80 ? this.parent : tmpdir();
    mkdirSync(parent, { recursive: true });
    this.dir = mkdtempSync(join(parent, 'kproxy-'));
    const socket = join(this.dir, 's');
    const { cmd, args } = this.kubectl(['proxy', `--unix-socket=${socket}`]);
    // --pdeathsig: the proxy dies with this process even when it is killed without cleanup.
    this.child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', cmd, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    this.child.stderr!.on('data', (d) => (stderr += d));
    this.child.unref();
    (this.child.stderr as any).unref?.();
    process.once('exit', () => this.stop());
    return new Promise((resolve, reject) => {
      const t0 = Date.now();
      const poll = () => {
        if (existsSync(socket)) return resolve(socket);
        if (this.child!.exitCode !== null || Date.now() - t0 > 15_000) return reject(new Error(`kubectl proxy did not start: ${stderr}`));
        setTimeout(poll, 25);
      };
      poll();
    });
  }

  stop(): void {
    this.child?.kill('SIGKILL');
    this.agent.destroy();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.child = undefined;
    this.ready = undefined;
  }

  /** GET `path`: [status, parsed body]. */
  async get(path: string): Promise<[number, any]> {
    const [status, body] = await this.getText(path);
    try {
      return [status, JSON.parse(body)];
    } catch {
      throw new Error(`GET ${path}: ${status} ${body.slice(0, 300)}`);
    }
  }

  /** GET `path`: [status, body as text] (e.g. a container's log). */
  async getText(path: string): Promise<[number, string]> {
    this.ready ??= this.start();
    const socketPath = await this.ready;
    return new Promise((resolve, reject) => {
      const req = request({ socketPath, path, headers: { host: 'localhost', accept: 'application/json' }, agent: this.agent, timeout: 30_000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve([res.statusCode ?? 0, body]));
      });
      req.on('timeout', () => req.destroy(new Error(`GET ${path}: no answer in 30 s`)));
      req.on('error', reject);
      req.end();
    });
  }

  /** What `kubectl get … -o json` prints for `get`: the object, or a List whose items carry their kind. */
  async run(get: RestGet): Promise<any> {
    const items: any[] = [];
    for (const { path, resource } of get.requests) {
      const [status, body] = await this.get(path);
      if (status !== 200) {
        const reason = status === 404 && get.named ? `${get.what} not found` : body?.message ?? `HTTP ${status}`;
        throw new Error(`kubectl get ${get.what} failed: Error from server (${body?.reason ?? status}): ${reason}`);
      }
      if (get.named) return body;
      for (const item of body.items ?? []) items.push({ apiVersion: resource.apiVersion, kind: resource.kind, ...item });
    }
    return { apiVersion: 'v1', kind: 'List', items, metadata: { resourceVersion: '' } };
  }
}
