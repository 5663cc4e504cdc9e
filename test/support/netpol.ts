/**
 * Evaluates NetworkPolicy semantics over synthesized objects, so tests can ask "may these pods
 * connect on this port?" the way a CNI would: the source's egress and the destination's ingress
 * must both admit the connection; a direction no policy selects is open.
 */
import { matches } from '../../graph/model';

type Labels = Record<string, string>;
export interface Endpoint {
  /** Pod labels, for pods in the stack namespace or another one. */
  readonly labels?: Labels;
  readonly namespace?: string;
  /** An address outside the cluster. */
  readonly ip?: string;
}

function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  const n = (a: string) => a.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const mask = Number(bits) === 0 ? 0 : 2 ** 32 - 2 ** (32 - Number(bits));
  return (n(ip) & mask) >>> 0 === (n(base) & mask) >>> 0;
}

function peerMatches(peer: any, e: Endpoint, policyNs: string): boolean {
  if (peer.ipBlock) return Boolean(e.ip) && inCidr(e.ip!, peer.ipBlock.cidr);
  if (e.ip) return false;
  const ns = e.namespace ?? policyNs;
  const nsOk = peer.namespaceSelector ? matches(peer.namespaceSelector, { 'kubernetes.io/metadata.name': ns }) : ns === policyNs;
  return nsOk && matches(peer.podSelector, e.labels);
}

function admits(policies: any[], pod: Endpoint, podNs: string, other: Endpoint, port: number, dir: 'Ingress' | 'Egress'): boolean {
  const selecting = policies.filter((p) => p.metadata.namespace === podNs && p.spec.policyTypes.includes(dir) && matches(p.spec.podSelector, pod.labels));
  if (selecting.length === 0) return true;
  return selecting.some((p) =>
    (dir === 'Ingress' ? p.spec.ingress : p.spec.egress)?.some(
      (rule: any) =>
        (rule.ports ?? [{ port }]).some((pp: any) => pp.port === port) &&
        (rule[dir === 'Ingress' ? 'from' : 'to'] ?? [{}]).some((peer: any) => Object.keys(peer).length === 0 || peerMatches(peer, other, podNs)),
    ),
  );
}

/** Whether `from` may open a TCP connection to `to` on `port` under the policies in `objs`. */
export function allowed(objs: any[], namespace: string, from: Endpoint, to: Endpoint, port: number): boolean {
  const policies = objs.filter((o) => o.kind === 'NetworkPolicy');
  const fromInStack = !from.ip && (from.namespace ?? namespace) === namespace;
  const toInStack = !to.ip && (to.namespace ?? namespace) === namespace;
  const egressOk = fromInStack ? admits(policies, from, namespace, to, port, 'Egress') : true;
  const ingressOk = toInStack ? admits(policies, to, namespace, from, port, 'Ingress') : true;
  return egressOk && ingressOk;
}
