/**
 * State shared while one project is translated: component names, the spec being built, the
 * Secrets the user must create, warnings and the per-service summary. `Keys` tracks which compose
 * keys of a service were read, so every key nobody translated ends up as a warning.
 */
import { fail } from '../load/errors';
import type { ComposeProject, ComposeService, ImportWarning } from '../load/model';

type Obj = Record<string, any>;

export interface TranslateOptions {
  /** The folder stack.yaml goes to; paths in the spec (build contexts) are relative to it. @default the current folder */
  readonly out?: string;
  /** Public host name for prod (`environments.prod.edge.host`). @default taken from the proxy config, if it names one */
  readonly prodHost?: string;
  /** GatewayClass (or IngressClass) for prod. @default none: prod needs it when something is routed */
  readonly prodClass?: string;
}

/** What a compose service becomes. */
export type Role = 'postgres' | 'redis' | 'stateful' | 'pgadmin' | 'edge' | 'prometheus' | 'web' | 'worker' | 'scheduled' | 'job' | 'dropped';

/** A value turned into a Secret reference: which variable of which service, and why (never the value). */
export interface FoundSecret {
  readonly service: string;
  readonly variable: string;
  readonly rule: string;
}

/** A key of a Secret the user provides, and where compose had the value. */
export interface ProvidedSecret {
  readonly secret: string;
  readonly key: string;
  readonly from: string;
}

/** A PostgreSQL or Redis server outside the project that services name (external.ts): one `external` component. */
export interface ExternalServer {
  readonly component: string;
  readonly engine: 'postgres' | 'redis';
  readonly host: string;
  readonly port: number;
  /** The services that connect to it and the variable each names it in, first one first. */
  readonly clients: { service: string; variable: string }[];
  /** Secret -> the login whose password it holds and where compose had that password. */
  readonly passwords: Map<string, { login?: string; from: string }>;
  /** PostgreSQL databases whose owner is a guess (only read-only logins named them so far). */
  readonly guessedOwners: Set<string>;
}

export class Context {
  readonly warnings: ImportWarning[] = [];
  readonly summary = new Map<string, string[]>();
  readonly names = new Map<string, string>();
  readonly roles = new Map<string, Role>();
  /** Services classified as continuous workers that others dial on a port (a task broker): they keep those ports. */
  readonly servingWorkers = new Set<string>();
  readonly components: Record<string, Obj> = {};
  readonly volumes: Record<string, Obj> = {};
  readonly envFiles: Record<string, Record<string, string>> = {};
  readonly provided = new Map<string, ProvidedSecret>();
  /** Compose variables (or literal secret values) that stand for a Secret the spec itself manages. */
  readonly managedSecrets = new Map<string, { secret: string; key: string }>();
  /** Literal secret values already given a Secret key, so the same password is one key (values stay in memory only). */
  readonly literalSecrets = new Map<string, string>();
  /** Every value made a Secret reference, for the summary. */
  readonly found: FoundSecret[] = [];
  /** Literal secret strings seen (whole values or passwords inside them): none may reach stack.yaml. */
  readonly secretStrings = new Set<string>();
  /** Servers outside the project, by "engine host:port". */
  readonly externals = new Map<string, ExternalServer>();
  edge?: Obj;
  monitoring?: Obj;
  prodEdge: Obj = {};

  constructor(
    readonly project: ComposeProject,
    readonly options: TranslateOptions,
    /** Values the secret scan flagged (secret-values.ts), with the rule that flagged each. */
    readonly detected: ReadonlyMap<string, string> = new Map(),
  ) {
    for (const name of Object.keys(project.services)) this.names.set(name, componentName(name));
  }

  /** The Secret holding values the user provides (API keys, passwords compose read from variables). */
  get secretName(): string {
    return `${this.project.name}-secrets`.slice(0, 63).replace(/-+$/, '');
  }

  /** Records a value turned into a Secret reference (`literal`: the secret text, kept in memory for the leak check). */
  secretFound(service: string, variable: string, rule: string, literal?: string): void {
    if (!this.found.some((f) => f.service === service && f.variable === variable)) this.found.push({ service, variable, rule });
    if (literal && literal.length >= 6) this.secretStrings.add(literal);
  }

  warn(service: string, key: string, why: string): void {
    this.warnings.push({ service, key, why });
  }

  note(service: string, text: string): void {
    this.summary.set(service, [...(this.summary.get(service) ?? []), text]);
  }

  /** A Secret key the user must create; `from` says where compose had the value. */
  provide(key: string, from: string): string {
    const k = kebab(key);
    if (!this.provided.has(k)) this.provided.set(k, { secret: this.secretName, key: k, from });
    return `${this.secretName}/${k}`;
  }

  componentOf(service: string): string | undefined {
    return this.names.get(service);
  }

  /** What a component is: the role of its compose service, or the engine of an external server. */
  roleOfComponent(component: string): Role | undefined {
    const service = this.serviceOf(component);
    if (service !== undefined) return this.roles.get(service);
    return [...this.externals.values()].find((e) => e.component === component)?.engine;
  }

  /** The compose service a component was made from (the first, for merged copies). */
  serviceOf(component: string): string | undefined {
    return [...this.names].find(([, c]) => c === component)?.[0];
  }

  /** Whether others can connect to a service: a server, a web service or a worker that serves ports. */
  dialable(service: string): boolean {
    const role = this.roles.get(service);
    return role === 'postgres' || role === 'redis' || role === 'web' || role === 'stateful' || (role === 'worker' && this.servingWorkers.has(service));
  }

  serviceByHost(host: string): ComposeService | undefined {
    return this.project.services[host] ?? Object.values(this.project.services).find((s) => s.config.hostname === host || s.config.container_name === host || Object.values(s.config.networks ?? {}).some((n: any) => n?.aliases?.includes(host)));
  }
}

/** Compose names allow "_", "." and capitals; components are DNS labels. */
export function componentName(service: string): string {
  return service.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^[^a-z]+/, '').replace(/-+$/, '').slice(0, 63) || 'service';
}

export function kebab(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
}

/** Why a compose key has no translation; keys missing here get a generic reason. */
const REASONS: Record<string, string> = {
  build: 'images are not built here: build and tag the image, then push it or load it into the cluster (kind load docker-image / k3d image import)',
  container_name: 'Kubernetes names pods itself; the component keeps the service name, which is also its DNS name',
  hostname: 'the Service name is the host name other components use',
  domainname: 'the Service name is the host name other components use',
  networks: 'a Kubernetes namespace is one flat network; NetworkPolicies admit exactly the flows derived from uses',
  links: 'every component with a port is reachable by its name through its Service',
  external_links: 'reach outside services by their DNS name',
  cap_add: 'Pod Security "restricted" drops every capability',
  cap_drop: 'every capability is already dropped',
  privileged: 'Pod Security "restricted" forbids privileged containers',
  security_opt: 'seccomp RuntimeDefault and no privilege escalation are set for every pod',
  devices: 'host devices are not allowed under Pod Security "restricted"',
  pid: 'host namespaces are not allowed under Pod Security "restricted"',
  ipc: 'host namespaces are not allowed under Pod Security "restricted"',
  network_mode: 'host networking is not allowed under Pod Security "restricted"',
  userns_mode: 'not available per pod in the spec',
  logging: 'containers log to stdout; the cluster log collector decides where logs go',
  ulimits: 'not settable per pod in Kubernetes',
  sysctls: 'not in the spec (only a few namespaced sysctls are allowed under "restricted")',
  extra_hosts: 'not in the spec; use DNS names',
  dns: 'the cluster DNS serves every pod',
  dns_search: 'the cluster DNS serves every pod',
  dns_opt: 'the cluster DNS serves every pod',
  stdin_open: 'server processes get no terminal in Kubernetes',
  tty: 'server processes get no terminal in Kubernetes',
  init: 'not in the spec; use an image with an init process (tini) if the app spawns children',
  platform: 'nodes pull the image for their own platform',
  pull_policy: 'the environment presets set imagePullPolicy (IfNotPresent locally, Always in prod)',
  working_dir: 'not in the spec: set WORKDIR in the image',
  stop_signal: 'Kubernetes always sends SIGTERM; handle it in the app',
  shm_size: 'not in the spec for this component',
  cpu_shares: 'use deploy.resources (requests and limits)',
  cpuset: 'not settable per pod in Kubernetes',
  mem_swappiness: 'not settable per pod in Kubernetes',
  memswap_limit: 'not settable per pod in Kubernetes',
  oom_score_adj: 'not settable per pod in Kubernetes',
  group_add: 'pods run with one uid and gid (>= 10000)',
  develop: 'compose watch is a development loop; rebuild and reload the image instead',
  annotations: 'not copied; the standard app.kubernetes.io labels are set',
  volumes_from: 'share a named volume instead',
  attach: 'log attachment is a compose CLI setting',
  post_start: 'not in the spec',
  pre_stop: 'not in the spec (web components get a preStop sleep for draining)',
  pre_start: 'not in the spec; use a job the component waits for (after)',
  runtime: 'not in the spec',
  gpus: 'not in the spec',
  provider: 'provider services are managed outside compose',
  models: 'not in the spec',
};

/** Reads a service's keys; `finish` warns about each key nobody read. */
export class Keys {
  private readonly seen = new Set<string>();

  constructor(
    private readonly ctx: Context,
    readonly service: ComposeService,
  ) {}

  get config(): Obj {
    return this.service.config;
  }

  take<T = any>(key: string): T | undefined {
    this.seen.add(key);
    return this.service.config[key];
  }

  /** Marks keys as read without using them (e.g. keys the loader already applied). */
  skip(...keys: string[]): void {
    for (const k of keys) this.seen.add(k);
  }

  warn(key: string, why: string): void {
    this.seen.add(key.split('.')[0]);
    this.ctx.warn(this.service.name, key, why);
  }

  /** Stops the import: this key of this service cannot be translated as written. */
  fail(key: string, message: string): never {
    const path = [this.service.job ? 'jobs' : 'services', this.service.name, ...key.split('.')];
    return fail(this.service.file, path, message, this.ctx.project.locate(this.service.file, path));
  }

  finish(): void {
    for (const key of Object.keys(this.service.config)) {
      if (this.seen.has(key)) continue;
      if (key.startsWith('x-')) this.ctx.warn(this.service.name, key, 'extension field not read by stackport');
      else this.ctx.warn(this.service.name, key, REASONS[key] ?? 'not translated');
    }
  }
}
