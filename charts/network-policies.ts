import { Construct } from 'constructs';
import { k8s } from './k8s';
import type { ResolvedStack } from '../model/presets';
import type { Peer } from '../model/schema';
import { endpointOf, isExternal, portsOfComponent, usesOf } from '../model/relations';
import { MANAGED_BY, selectorFor } from './labels';

export interface NetworkPoliciesProps {
  readonly stack: ResolvedStack;
}

/** The label and port of the pods cert-manager runs to answer ACME HTTP-01 challenges. */
export const ACME_SOLVER_LABEL = 'acme.cert-manager.io/http01-solver';
export const ACME_SOLVER_PORT = 8089;
export const ACME_SOLVER_POLICY = 'acme-http01-solver';

/** Cluster DNS as kind, k3s and kubeadm clusters label it. */
const DNS: Peer = { namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' } };

/**
 * The peer of an external server. A NetworkPolicy cannot name a host, so a host name means any
 * address on its port; an IPv4 address is that address alone.
 */
function externalPeer(spec: ResolvedStack['spec'], name: string): Peer {
  const { host } = endpointOf(spec, name);
  return { cidr: /^\d{1,3}(\.\d{1,3}){3}$/.test(host) ? `${host}/32` : '0.0.0.0/0' };
}

/** One allowed connection: `from` pods (or a peer outside the stack) to `to` pods on a port. */
export interface Flow {
  readonly from: string | Peer;
  readonly to: string | Peer;
  readonly port: number;
  readonly protocol?: 'TCP' | 'UDP';
}

/**
 * Every flow the stack needs, derived from the spec: each relation (plus the relations of the jobs
 * a pod waits for, since its init container runs their check), the backup job to its database,
 * pgAdmin to its servers, the proxy to routed services, Prometheus to metrics ports, DNS, and the
 * outside endpoints a component declares. In network mode `stack`, also every pod to every Service
 * port of the stack.
 */
export function flowsOf(stack: ResolvedStack): Flow[] {
  const flows: Flow[] = [];
  const connect = (from: string, to: string) => {
    if (isExternal(stack.components[to])) flows.push({ from, to: externalPeer(stack.spec, to), port: endpointOf(stack.spec, to).port });
    else for (const port of portsOfComponent(stack.spec, to)) flows.push({ from, to, port });
  };
  for (const c of Object.values(stack.components)) {
    if (isExternal(c)) continue;
    flows.push({ from: c.name, to: DNS, port: 53, protocol: 'UDP' }, { from: c.name, to: DNS, port: 53, protocol: 'TCP' });
    const waited = ('after' in c ? c.after ?? [] : []).flatMap((job) => usesOf(stack.components[job]));
    const targets = new Set([...usesOf(c), ...waited].map((r) => r.to));
    for (const t of targets) connect(c.name, t);
    if ('egress' in c) for (const e of c.egress ?? []) for (const port of e.ports) flows.push({ from: c.name, to: { cidr: e.cidr }, port });
    if (c.kind === 'pgadmin') for (const s of c.servers ?? Object.values(stack.components).filter((x) => x.kind === 'postgres').map((x) => x.name)) connect(c.name, s);
    if (c.kind === 'postgres' && c.backup?.enabled) {
      const backup = `${c.name}-backup`;
      flows.push({ from: backup, to: DNS, port: 53, protocol: 'UDP' }, { from: backup, to: DNS, port: 53, protocol: 'TCP' });
      flows.push({ from: backup, to: c.name, port: endpointOf(stack.spec, c.name).port });
    }
    const metricsPort = c.kind === 'web' && c.metricsPath ? c.port : c.kind === 'worker' && c.mode === 'continuous' && c.metricsPath ? c.healthPort : undefined;
    if (metricsPort && stack.monitoring) flows.push({ from: stack.monitoring.prometheus, to: c.name, port: metricsPort });
  }
  for (const r of stack.edge?.routes ?? []) for (const p of stack.edge!.allowFrom) flows.push({ from: p, to: r.component, port: r.port });
  return flows;
}

/**
 * Network mode `stack` (the flows are not all known): every pod of the stack may reach every Service
 * port of the stack. One policy for all of them keeps the output linear in the number of
 * components; its selector names each component, so a pod that merely carries the stack's label
 * (a debug pod) is not admitted.
 */
export function stackWidePolicy(stack: ResolvedStack): k8s.NetworkPolicySpec | undefined {
  if (stack.spec.network?.mode !== 'stack') return undefined;
  const servers = Object.values(stack.components).filter((c) => ['web', 'stateful', 'redis', 'postgres', 'worker'].includes(c.kind) && !isExternal(c));
  const pods = Object.values(stack.components).filter((c) => !isExternal(c)).map((c) => c.name);
  for (const c of Object.values(stack.components)) if (c.kind === 'postgres' && c.backup?.enabled && !c.external) pods.push(`${c.name}-backup`);
  const ports = [...new Set(servers.flatMap((c) => portsOfComponent(stack.spec, c.name)))].sort((a, b) => a - b);
  if (servers.length === 0 || ports.length === 0) return undefined;
  const selector: k8s.LabelSelector = {
    matchLabels: { 'app.kubernetes.io/part-of': stack.name },
    matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'In', values: pods.sort() }],
  };
  const portList = ports.map((p) => ({ port: k8s.IntOrString.fromNumber(p), protocol: 'TCP' }));
  return {
    podSelector: selector,
    policyTypes: ['Ingress', 'Egress'],
    ingress: [{ from: [{ podSelector: selector }], ports: portList }],
    egress: [{ to: [{ podSelector: selector }], ports: portList }],
  };
}

function peerOf(stack: ResolvedStack, p: string | Peer): k8s.NetworkPolicyPeer {
  if (typeof p === 'string') return { podSelector: { matchLabels: selectorFor(stack, p) } };
  if (p.cidr) return { ipBlock: { cidr: p.cidr } };
  return {
    namespaceSelector: p.namespace ? { matchLabels: { 'kubernetes.io/metadata.name': p.namespace } } : undefined,
    podSelector: p.podLabels ? { matchLabels: p.podLabels } : undefined,
  };
}

/**
 * Least-privilege networking: a namespace-wide default deny in both directions, then one policy
 * per workload that admits exactly its flows (see flowsOf). Every pod is selected by a policy that
 * lists both its ingress and its egress.
 */
export class NetworkPolicies extends Construct {
  constructor(scope: Construct, id: string, props: NetworkPoliciesProps) {
    super(scope, id);
    const { stack } = props;
    const labels = { 'app.kubernetes.io/part-of': stack.name, 'app.kubernetes.io/managed-by': MANAGED_BY };
    new k8s.KubeNetworkPolicy(this, 'default-deny', {
      metadata: { name: 'default-deny', namespace: stack.namespace, labels },
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    });
    const flows = flowsOf(stack);
    const groups = [...new Set(flows.flatMap((f) => [f.from, f.to]).filter((x): x is string => typeof x === 'string'))];
    // One rule per peer, listing all of its ports, in first-seen order.
    const rules = (selected: Flow[], side: 'from' | 'to') => {
      const byPeer = new Map<string, { peer: string | Peer; ports: k8s.NetworkPolicyPort[] }>();
      for (const f of selected) {
        const key = JSON.stringify(f[side]);
        const entry = byPeer.get(key) ?? { peer: f[side], ports: [] };
        if (!entry.ports.some((p) => p.port?.value === f.port && p.protocol === (f.protocol ?? 'TCP'))) {
          entry.ports.push({ port: k8s.IntOrString.fromNumber(f.port), protocol: f.protocol ?? 'TCP' });
        }
        byPeer.set(key, entry);
      }
      return [...byPeer.values()].map((e) => ({ [side]: [peerOf(stack, e.peer)], ports: e.ports }));
    };
    const wide = stackWidePolicy(stack);
    if (wide) new k8s.KubeNetworkPolicy(this, 'stack-internal', { metadata: { name: 'stackport-internal', namespace: stack.namespace, labels }, spec: wide });
    // cert-manager's HTTP-01 solver pods, created in this namespace during an ACME issuance: the
    // proxy must reach them, or the default deny fails every challenge. They dial nothing.
    if (stack.edge?.tls.issuer === 'acme') {
      new k8s.KubeNetworkPolicy(this, 'acme-solver', {
        metadata: { name: ACME_SOLVER_POLICY, namespace: stack.namespace, labels },
        spec: {
          podSelector: { matchLabels: { [ACME_SOLVER_LABEL]: 'true' } },
          policyTypes: ['Ingress', 'Egress'],
          ingress: [{ from: stack.edge.allowFrom.map((p) => peerOf(stack, p)), ports: [{ port: k8s.IntOrString.fromNumber(ACME_SOLVER_PORT), protocol: 'TCP' }] }],
        },
      });
    }
    for (const g of groups) {
      new k8s.KubeNetworkPolicy(this, `np-${g}`, {
        metadata: { name: g, namespace: stack.namespace, labels: { ...labels, 'app.kubernetes.io/name': g } },
        spec: {
          podSelector: { matchLabels: selectorFor(stack, g) },
          policyTypes: ['Ingress', 'Egress'],
          ingress: rules(flows.filter((f) => f.to === g), 'from'),
          egress: rules(flows.filter((f) => f.from === g), 'to'),
        },
      });
    }
  }
}
