/**
 * The picture of a stack, read from its synthesized objects rather than from the spec, so a wrong
 * inference shows as the cluster will behave: a flow is drawn only when the NetworkPolicies admit
 * it in both directions (the client's egress and the server's ingress), routes come from the
 * HTTPRoutes or Ingresses, ordering from the init containers that wait for a job.
 */

export type NodeKind = 'web' | 'worker' | 'scheduled' | 'job' | 'database' | 'cache' | 'stateful';

export interface GraphNode {
  readonly id: string;
  readonly kind: NodeKind;
}

export interface Flow {
  readonly from: string;
  readonly to: string;
  readonly ports: number[];
}

export interface Route {
  readonly host: string;
  readonly path: string;
  readonly to: string;
  readonly port: number;
}

export interface Egress {
  readonly from: string;
  readonly cidr: string;
  readonly ports: number[];
}

export interface StackGraph {
  readonly name: string;
  readonly nodes: GraphNode[];
  readonly flows: Flow[];
  readonly routes: Route[];
  readonly egress: Egress[];
  /** `from` waits for job `to` to have done its work. */
  readonly waits: { from: string; to: string }[];
}

type Obj = Record<string, any>;
type Labels = Record<string, string>;

interface Pod {
  readonly id: string;
  readonly kind: NodeKind;
  readonly labels: Labels;
  readonly ports: Map<string, number>;
  readonly spec: Obj;
}

const NAME = 'app.kubernetes.io/name';

function podOf(o: Obj): Pod | undefined {
  const template = o.kind === 'CronJob' ? o.spec?.jobTemplate?.spec?.template : ['Deployment', 'StatefulSet', 'Job', 'DaemonSet'].includes(o.kind) ? o.spec?.template : undefined;
  if (!template) return undefined;
  const labels: Labels = template.metadata?.labels ?? {};
  const role = o.metadata?.labels?.['app.kubernetes.io/component'];
  const ports = new Map<string, number>();
  for (const c of template.spec?.containers ?? []) for (const p of c.ports ?? []) ports.set(p.name ?? String(p.containerPort), p.containerPort);
  let kind: NodeKind;
  if (o.kind === 'CronJob') kind = 'scheduled';
  else if (o.kind === 'Job') kind = 'job';
  else if (role === 'database') kind = 'database';
  else if (role === 'cache') kind = 'cache';
  else if (o.kind === 'StatefulSet') kind = 'stateful';
  else kind = ports.size > 0 && role !== 'worker' ? 'web' : 'worker';
  return { id: labels[NAME] ?? o.metadata.name, kind, labels, ports, spec: template.spec ?? {} };
}

/** Kubernetes label-selector semantics (matchLabels and matchExpressions); no selector selects all. */
export function matches(selector: Obj | undefined, labels: Labels = {}): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = e.key in labels;
    if (e.operator === 'In' && !(has && e.values.includes(labels[e.key]))) return false;
    if (e.operator === 'NotIn' && has && e.values.includes(labels[e.key])) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

/** Whether a policy peer is this pod of the stack's namespace. */
function peerIsPod(peer: Obj, pod: Pod, namespace: Labels): boolean {
  if (peer.ipBlock) return false;
  if (peer.namespaceSelector && !matches(peer.namespaceSelector, namespace)) return false;
  return matches(peer.podSelector, pod.labels);
}

function portAllowed(rulePorts: Obj[] | undefined, port: number, target: Pod): boolean {
  if (!rulePorts || rulePorts.length === 0) return true;
  return rulePorts.some((p) => {
    if ((p.protocol ?? 'TCP') !== 'TCP') return false;
    if (p.port === undefined) return true;
    const n = typeof p.port === 'number' ? p.port : target.ports.get(p.port);
    return n !== undefined && (p.endPort ? port >= n && port <= p.endPort : port === n);
  });
}

export function buildGraph(objects: Obj[]): StackGraph {
  const ns = objects.find((o) => o.kind === 'Namespace');
  const nsLabels: Labels = { ...(ns?.metadata?.labels ?? {}), 'kubernetes.io/metadata.name': ns?.metadata?.name ?? '' };
  const pods = objects.map(podOf).filter((p): p is Pod => !!p);
  const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
  const selecting = (pod: Pod, type: 'Ingress' | 'Egress') =>
    policies.filter((p) => matches(p.spec.podSelector, pod.labels) && (p.spec.policyTypes ?? (type === 'Ingress' ? ['Ingress'] : [])).includes(type));

  const allowed = (from: Pod, to: Pod, port: number): boolean => {
    const out = selecting(from, 'Egress');
    const egress = out.length === 0 || out.some((p) => (p.spec.egress ?? []).some((r: Obj) => (!r.to || r.to.some((peer: Obj) => peerIsPod(peer, to, nsLabels))) && portAllowed(r.ports, port, to)));
    const inn = selecting(to, 'Ingress');
    const ingress = inn.length === 0 || inn.some((p) => (p.spec.ingress ?? []).some((r: Obj) => (!r.from || r.from.some((peer: Obj) => peerIsPod(peer, from, nsLabels))) && portAllowed(r.ports, port, to)));
    return egress && ingress;
  };

  const flows: Flow[] = [];
  for (const from of pods) {
    for (const to of pods) {
      if (from === to) continue;
      const ports = [...new Set(to.ports.values())].filter((port) => allowed(from, to, port)).sort((a, b) => a - b);
      if (ports.length > 0) flows.push({ from: from.id, to: to.id, ports });
    }
  }

  const egress: Egress[] = [];
  for (const pod of pods) {
    for (const p of selecting(pod, 'Egress')) {
      for (const r of p.spec.egress ?? []) {
        for (const peer of (r.to ?? []).filter((x: Obj) => x.ipBlock)) {
          const ports = (r.ports ?? []).filter((x: Obj) => typeof x.port === 'number' && x.port !== 53).map((x: Obj) => x.port as number);
          if (ports.length > 0) egress.push({ from: pod.id, cidr: peer.ipBlock.cidr, ports });
        }
      }
    }
  }

  const services = new Map(objects.filter((o) => o.kind === 'Service').map((s) => [s.metadata.name, s]));
  const componentOfService = (name: string): string | undefined => {
    const svc = services.get(name);
    return svc ? pods.find((p) => svc.spec?.selector && matches({ matchLabels: svc.spec.selector }, p.labels))?.id : undefined;
  };
  const routes: Route[] = [];
  for (const r of objects.filter((o) => o.kind === 'HTTPRoute')) {
    for (const rule of r.spec?.rules ?? []) {
      for (const b of rule.backendRefs ?? []) {
        const to = componentOfService(b.name);
        if (!to) continue;
        for (const host of r.spec.hostnames ?? ['*']) {
          for (const m of rule.matches ?? [{ path: { value: '/' } }]) routes.push({ host, path: m.path?.value ?? '/', to, port: b.port });
        }
      }
    }
  }
  // Traefik Ingresses whose middlewares redirect or refuse every request route nothing to their backend.
  const middlewares = new Map(objects.filter((o) => o.kind === 'Middleware').map((m) => [`${m.metadata.namespace}-${m.metadata.name}@kubernetescrd`, m]));
  const routesNothing = (ing: Obj) =>
    String(ing.metadata?.annotations?.['traefik.ingress.kubernetes.io/router.middlewares'] ?? '')
      .split(',')
      .map((ref) => middlewares.get(ref.trim())?.spec)
      .some((m) => m?.redirectScheme || (m?.ipAllowList && (m.ipAllowList.sourceRange ?? []).every((r: string) => r.startsWith('127.'))));
  for (const ing of objects.filter((o) => o.kind === 'Ingress' && !routesNothing(o))) {
    for (const rule of ing.spec?.rules ?? []) {
      for (const p of rule.http?.paths ?? []) {
        const to = componentOfService(p.backend?.service?.name);
        if (to) routes.push({ host: rule.host ?? '*', path: p.path ?? '/', to, port: p.backend.service.port?.number ?? services.get(p.backend.service.name)?.spec?.ports?.[0]?.port });
      }
    }
  }

  const jobs = new Set(pods.filter((p) => p.kind === 'job').map((p) => p.id));
  const waits = pods.flatMap((p) =>
    (p.spec.initContainers ?? [])
      .map((c: Obj) => /^wait-for-(.+)$/.exec(c.name)?.[1])
      .filter((j: string | undefined): j is string => !!j && jobs.has(j))
      .map((to: string) => ({ from: p.id, to })),
  );

  const nodes = pods.map((p) => ({ id: p.id, kind: p.kind }));
  const unique = <T>(xs: T[]) => [...new Map(xs.map((x) => [JSON.stringify(x), x])).values()];
  return { name: ns?.metadata?.name ?? 'stack', nodes, flows, routes: unique(routes), egress: unique(egress), waits: unique(waits) };
}
