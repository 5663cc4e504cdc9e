/**
 * Helpers for the runtime test: the node the global setup started (scripts/node/up.sh), kubectl and
 * commands inside its network namespace, pods built to the restricted Pod Security profile, and
 * bounded waits.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { Kube, type Result, ROOT, diagnostics, run, waitUntil } from '../cluster/kube';

export { ROOT, diagnostics, waitUntil };

export interface NodeInfo {
  stateDir: string;
  netns: string;
  kubeconfig: string;
  kubectl: string;
  nodeExec: string;
  node: { name: string; ip: string; podCIDR: string };
  serviceCIDR: string;
  dnsIP: string;
  storageClasses: string[];
  images: { pause: string; helper: string; archives: number };
  timings: Record<string, number>;
}

declare module 'vitest' {
  export interface ProvidedContext {
    runtimeNode: NodeInfo;
    /** A folder of this run only (the global setup makes and removes it): files leave marks there. */
    runtimeRunDir: string;
  }
}

/** Marks the calling test file (by name) as finished, for the files still running (fileDone). */
export function markFileDone(name: string): void {
  writeFileSync(join(inject('runtimeRunDir'), `done-${name}`), '');
}

/** Whether every named file has called markFileDone in this run. */
export function filesDone(names: string[]): boolean {
  return names.every((n) => existsSync(join(inject('runtimeRunDir'), `done-${n}`)));
}

/** Image of the test clients and servers (busybox from Debian's busybox-static, scripts/node/images.sh). */
export const BUSYBOX = 'stackport.local/busybox:1.35.0';

export function node(): { info: NodeInfo; kube: Kube; exec: (args: string[], timeoutMs?: number) => Promise<Result>; logTails: (lines?: number) => string } {
  const info = inject('runtimeNode');
  const kube = new Kube(info.kubeconfig, info.kubectl, join(info.stateDir, 'kube-cache'));
  const exec = (args: string[], timeoutMs = 30_000) => run(info.nodeExec, args, { timeoutMs });
  const logTails = (lines = 20) => {
    const dir = join(info.stateDir, 'logs');
    if (!existsSync(dir)) return '';
    return readdirSync(dir)
      .filter((f) => f.endsWith('.log'))
      .map((f) => `----- ${f} (last ${lines} lines)\n${readFileSync(join(dir, f), 'utf8').trimEnd().split('\n').slice(-lines).join('\n')}`)
      .join('\n');
  };
  return { info, kube, exec, logTails };
}

/** A namespace enforcing Pod Security "restricted", created fresh (deleted first if left over). */
export async function freshNamespace(kube: Kube, name: string): Promise<void> {
  await kube.kubectl(['delete', 'namespace', name, '--ignore-not-found', '--wait=true', '--timeout=120s'], { timeoutMs: 150_000 });
  await kube.ok(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name,
        labels: { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'latest' },
      },
    }),
  });
  await waitUntil(
    `ServiceAccount ${name}/default`,
    async () => ((await kube.kubectl(['-n', name, 'get', 'serviceaccount', 'default'])).code === 0 ? [] : ['serviceaccount default']),
    () => diagnostics(kube, name),
    60,
  );
}

/** The restricted profile's container settings, with the given uid. */
export function restrictedContainer(name: string, script: string, uid = 10999, extra: Record<string, unknown> = {}): any {
  return {
    name,
    image: BUSYBOX,
    imagePullPolicy: 'Never',
    command: ['/bin/sh', '-c', script],
    securityContext: {
      runAsNonRoot: true,
      runAsUser: uid,
      runAsGroup: uid,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } },
    ...extra,
  };
}

export function pod(namespace: string, name: string, labels: Record<string, string>, containers: any[], spec: Record<string, unknown> = {}): any {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels },
    spec: { terminationGracePeriodSeconds: 1, automountServiceAccountToken: false, containers, ...spec },
  };
}

/** An HTTP server on the given ports answering "<name>:<port>" (busybox httpd, from an emptyDir). */
export function httpServer(namespace: string, name: string, labels: Record<string, string>, ports: number[]): any {
  const script = ports
    .map((p) => `mkdir -p /tmp/www${p} && echo "${name}:${p}" > /tmp/www${p}/index.html && httpd -p ${p} -h /tmp/www${p}`)
    .join(' && ');
  return pod(
    namespace,
    name,
    labels,
    [
      restrictedContainer('http', `${script} && exec sleep 86400`, 10999, {
        ports: ports.map((p) => ({ containerPort: p })),
        readinessProbe: { tcpSocket: { port: ports[0] }, periodSeconds: 1 },
        volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
      }),
    ],
    { volumes: [{ name: 'tmp', emptyDir: {} }] },
  );
}

/** A client that only sleeps; tests run commands in it with kubectl exec. */
export function client(namespace: string, name: string, labels: Record<string, string>): any {
  return pod(namespace, name, labels, [restrictedContainer('client', 'exec sleep 86400')]);
}

export async function applyObjects(kube: Kube, objects: any[]): Promise<void> {
  await kube.ok(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }) });
}

export async function waitPodsReady(kube: Kube, namespace: string, names: string[], seconds = 120): Promise<number> {
  return waitUntil(
    `pods ${names.join(', ')} Ready in ${namespace}`,
    async () => {
      const pods = await kube.items(['-n', namespace, 'get', 'pods']);
      return names.filter((n) => {
        const p = pods.find((x) => x.metadata.name === n);
        return !(p?.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');
      });
    },
    () => diagnostics(kube, namespace),
    seconds,
  );
}

/**
 * An HTTP GET from inside a pod, with busybox nc (busybox wget, statically linked against glibc,
 * crashes resolving the "http" service name in an image without NSS libraries): the body of a 200
 * answer, or undefined when the connection was refused, timed out or the answer was not a 200.
 * `host` must be an IP address for the same reason; DNS is checked with nslookup.
 */
export async function httpGet(kube: Kube, namespace: string, from: string, host: string, port: number, timeoutSeconds = 3): Promise<string | undefined> {
  const script = `printf 'GET / HTTP/1.0\\r\\nHost: ${host}\\r\\n\\r\\n' | nc -w ${timeoutSeconds} ${host} ${port}`;
  const r = await kube.kubectl(['-n', namespace, 'exec', from, '--', 'sh', '-c', script], { timeoutMs: (timeoutSeconds + 20) * 1000 });
  if (r.code !== 0 || !/^HTTP\/1\.[01] 200 /.test(r.stdout)) return undefined;
  const body = r.stdout.split(/\r?\n\r?\n/).slice(1).join('\n\n');
  return body.trim();
}

export async function podIP(kube: Kube, namespace: string, name: string): Promise<string> {
  return (await kube.ok(['-n', namespace, 'get', 'pod', name, '-o', 'jsonpath={.status.podIP}'])).trim();
}

/** Host-side facts the teardown compares: nothing of the node may remain. */
export function hostSnapshot(): { netns: string; iptables: string; links: string; routes: string } {
  const sh = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8' });
    } catch (e) {
      return `(${cmd} failed: ${(e as Error).message})`;
    }
  };
  return {
    netns: sh('ip', ['netns', 'list']),
    iptables: sh('iptables-save', []).replace(/^#.*$/gm, '').replace(/\[\d+:\d+\]/g, ''),
    links: sh('ip', ['-o', 'link', 'show']).replace(/\s+link\/.*$/gm, ''),
    routes: sh('ip', ['route', 'show']),
  };
}

/**
 * One TCP connection attempt from a busybox pod: true when it connected. Busybox nc has no -z: a
 * connection that opens is held until `timeout` ends it (exit 143) or the server closes it (exit 0);
 * a refused or unanswered one exits 1.
 */
export async function tcpConnects(kube: Kube, namespace: string, from: string, ip: string, port: number): Promise<boolean> {
  const r = await kube.ok(['-n', namespace, 'exec', from, '--', 'sh', '-c', `timeout 5 nc -w 3 ${ip} ${port} </dev/null >/dev/null 2>&1; echo $?`], { timeoutMs: 30_000 });
  return ['0', '143'].includes(r.trim());
}
