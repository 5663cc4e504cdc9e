/**
 * The node itself works: what every runtime check of the stack relies on. Each behaviour is shown
 * on real pods (busybox from Debian, scripts/node/images.sh) in namespaces enforcing Pod Security
 * "restricted", and each check that expects a refusal first sees the same request succeed, so it
 * cannot pass for the wrong reason.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyObjects,
  client,
  diagnostics,
  freshNamespace,
  httpGet,
  httpServer,
  node,
  pod,
  podIP,
  restrictedContainer,
  waitPodsReady,
  waitUntil,
} from './node';

const { info, kube, exec } = node();
const NS = 'runtime-basics';

beforeAll(async () => {
  await freshNamespace(kube, NS);
});

afterAll(async () => {
  await kube.kubectl(['delete', 'namespace', NS, '--wait=false']);
});

describe('node', () => {
  it('is Ready, untainted, with its InternalIP and pod CIDR', async () => {
    const n = await kube.json(['get', 'node', info.node.name]);
    expect(n.status.conditions.find((c: any) => c.type === 'Ready')?.status).toBe('True');
    expect(n.spec.taints ?? []).toEqual([]);
    expect(n.spec.podCIDR).toBe(info.node.podCIDR);
    expect(n.status.addresses).toContainEqual({ type: 'InternalIP', address: info.node.ip });
    expect(n.status.nodeInfo.kubeletVersion).toBe('v1.35.4');
    expect(n.status.nodeInfo.containerRuntimeVersion).toMatch(/^containerd:\/\/2\./);
  });

  it('serves kubectl logs and exec through the kubelet (InternalIP)', async () => {
    const dns = await kube.items(['-n', 'kube-system', 'get', 'pods', '-l', 'k8s-app=kube-dns']);
    expect(dns.length).toBe(1);
    const logs = await kube.ok(['-n', 'kube-system', 'logs', dns[0].metadata.name]);
    expect(logs).toMatch(/CoreDNS-1\.13\.1/);
  });
});

describe('pod security', () => {
  it('a pod under Pod Security restricted runs as its uid, without privileges, on a read-only root', async () => {
    const script = 'id -u; id -g; grep -E "^(Seccomp|NoNewPrivs|CapEff):" /proc/self/status; touch /probe 2>&1 || true; echo done';
    await applyObjects(kube, [pod(NS, 'restricted', { app: 'restricted' }, [restrictedContainer('c', script, 10999)], { restartPolicy: 'Never' })]);
    await waitUntil(
      'pod restricted Succeeded',
      async () => ((await kube.ok(['-n', NS, 'get', 'pod', 'restricted', '-o', 'jsonpath={.status.phase}'])) === 'Succeeded' ? [] : ['phase Succeeded']),
      () => diagnostics(kube, NS),
      120,
    );
    const out = await kube.ok(['-n', NS, 'logs', 'restricted']);
    expect(out.split('\n').slice(0, 2)).toEqual(['10999', '10999']);
    expect(out).toMatch(/^Seccomp:\s+2$/m);
    expect(out).toMatch(/^NoNewPrivs:\s+1$/m);
    expect(out).toMatch(/^CapEff:\s+0+$/m);
    expect(out).toMatch(/Read-only file system/);
    expect(out).toMatch(/done/);
  });

  it('a privileged pod is refused by the restricted namespace', async () => {
    const bad = pod(NS, 'privileged', {}, [{ name: 'c', image: 'stackport.local/busybox:1.35.0', securityContext: { privileged: true } }]);
    const r = await kube.kubectl(['apply', '-f', '-'], { input: JSON.stringify(bad) });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/violates PodSecurity "restricted/);
  });
});

describe('storage', () => {
  for (const cls of ['standard', 'local-path']) {
    it(`a claim of class ${cls} binds, its data survives deleting the pod, and its folder goes with the claim`, async () => {
      const claim = `data-${cls}`;
      const writer = (name: string, script: string) =>
        pod(NS, name, {}, [restrictedContainer('c', script, 10999, { volumeMounts: [{ name: 'data', mountPath: '/data' }] })], {
          restartPolicy: 'Never',
          securityContext: { fsGroup: 10999 },
          volumes: [{ name: 'data', persistentVolumeClaim: { claimName: claim } }],
        });
      await applyObjects(kube, [
        {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: claim, namespace: NS },
          spec: { storageClassName: cls, accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '64Mi' } } },
        },
        writer(`write-${cls}`, `echo "kept-${cls}" > /data/proof && sync && cat /data/proof`),
      ]);
      const phase = (p: string) => kube.ok(['-n', NS, 'get', 'pod', p, '-o', 'jsonpath={.status.phase}']);
      await waitUntil(`pod write-${cls} Succeeded`, async () => ((await phase(`write-${cls}`)) === 'Succeeded' ? [] : ['Succeeded']), () => diagnostics(kube, NS), 300);
      const pvc = await kube.json(['-n', NS, 'get', 'pvc', claim]);
      expect(pvc.status.phase).toBe('Bound');
      const pv = await kube.json(['get', 'pv', pvc.spec.volumeName]);
      expect(pv.spec.storageClassName).toBe(cls);
      const folder: string = pv.spec.hostPath?.path ?? pv.spec.local?.path;
      expect(folder).toContain(`${info.stateDir}/storage/`);
      expect(existsSync(folder)).toBe(true);

      await kube.ok(['-n', NS, 'delete', 'pod', `write-${cls}`, '--wait=true']);
      await applyObjects(kube, [writer(`read-${cls}`, 'cat /data/proof')]);
      await waitUntil(`pod read-${cls} Succeeded`, async () => ((await phase(`read-${cls}`)) === 'Succeeded' ? [] : ['Succeeded']), () => diagnostics(kube, NS), 300);
      expect((await kube.ok(['-n', NS, 'logs', `read-${cls}`])).trim()).toBe(`kept-${cls}`);

      // Reclaim policy Delete: the provisioner removes the folder, files of the pod's user included.
      await kube.ok(['-n', NS, 'delete', 'pod', `read-${cls}`, '--wait=true']);
      await kube.ok(['-n', NS, 'delete', 'pvc', claim, '--wait=true']);
      const gone = async () => [
        ...((await kube.items(['get', 'pv'])).some((v) => v.metadata.name === pv.metadata.name) ? [`PersistentVolume ${pv.metadata.name}`] : []),
        ...(existsSync(folder) ? [folder] : []),
      ];
      await waitUntil(`volume ${pv.metadata.name} and its folder removed`, gone, () => diagnostics(kube, 'local-path-storage'), 120);
    });
  }
});

describe('services', () => {
  beforeAll(async () => {
    await applyObjects(kube, [
      httpServer(NS, 'web-1', { app: 'web' }, [8080]),
      httpServer(NS, 'web-2', { app: 'web' }, [8080]),
      client(NS, 'client', { app: 'client' }),
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web', namespace: NS },
        spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
      },
    ]);
    await waitPodsReady(kube, NS, ['web-1', 'web-2', 'client']);
    // kube-proxy programs a new Service after its endpoints are Ready, asynchronously: until then
    // the ClusterIP does not answer (seen once on a busy node).
    const clusterIP = (await kube.ok(['-n', NS, 'get', 'service', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    await waitUntil('kube-proxy routes the Service web', async () => ((await httpGet(kube, NS, 'client', clusterIP, 80)) ? [] : [`no answer from ${clusterIP}:80`]), () => diagnostics(kube, NS), 60);
  });

  it('DNS resolves a Service name to its ClusterIP', async () => {
    const clusterIP = (await kube.ok(['-n', NS, 'get', 'service', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    expect(clusterIP.startsWith('10.96.')).toBe(true);
    const r = await kube.kubectl(['-n', NS, 'exec', 'client', '--', 'nslookup', `web.${NS}.svc.cluster.local`]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain(`Address: ${clusterIP}`);
    // The short name through the search path that kubelet writes into the pod's resolv.conf.
    const short = await kube.kubectl(['-n', NS, 'exec', 'client', '--', 'nslookup', 'web']);
    expect(short.stdout).toContain(`Address: ${clusterIP}`);
    const missing = await kube.kubectl(['-n', NS, 'exec', 'client', '--', 'nslookup', `absent.${NS}.svc.cluster.local`]);
    expect(missing.code).not.toBe(0);
  });

  it('kube-proxy routes a Service port to the ready endpoints, from pods and from the node', async () => {
    const clusterIP = (await kube.ok(['-n', NS, 'get', 'service', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    const seen = new Set<string>();
    for (let i = 0; i < 20 && seen.size < 2; i++) {
      const body = await httpGet(kube, NS, 'client', clusterIP, 80);
      expect(body).toMatch(/^web-[12]:8080$/);
      seen.add(body!);
    }
    expect([...seen].sort()).toEqual(['web-1:8080', 'web-2:8080']);
    const fromNode = await exec(['curl', '-sf', '--max-time', '5', `http://${clusterIP}/`]);
    expect(fromNode.code, fromNode.stderr).toBe(0);
    expect(fromNode.stdout.trim()).toMatch(/^web-[12]:8080$/);
  });
});

describe('network policies', () => {
  const NP = 'runtime-netpol';
  const reach = (from: string, ip: string, port: number) => httpGet(kube, NP, from, ip, port, 2);
  /** Polls until `from` can (or cannot) reach ip:port: enforcement is asynchronous. */
  const settle = async (from: string, ip: string, port: number, open: boolean) =>
    waitUntil(
      `${from} -> ${ip}:${port} ${open ? 'admitted' : 'refused'}`,
      async () => (((await reach(from, ip, port)) !== undefined) === open ? [] : [`${from} -> ${ip}:${port}`]),
      () => diagnostics(kube, NP),
      120,
    );

  beforeAll(async () => {
    await freshNamespace(kube, NP);
    await applyObjects(kube, [
      httpServer(NP, 'server', { app: 'server' }, [8080, 9090]),
      client(NP, 'allowed', { role: 'allowed' }),
      client(NP, 'other', { role: 'other' }),
    ]);
    await waitPodsReady(kube, NP, ['server', 'allowed', 'other']);
  });

  afterAll(async () => {
    await kube.kubectl(['delete', 'namespace', NP, '--wait=false']);
  });

  it('without policies every pod reaches the server on both ports', async () => {
    const ip = await podIP(kube, NP, 'server');
    for (const from of ['allowed', 'other']) {
      expect(await reach(from, ip, 8080)).toBe('server:8080');
      expect(await reach(from, ip, 9090)).toBe('server:9090');
    }
  });

  it('a default-deny policy refuses every connection to the server', async () => {
    const ip = await podIP(kube, NP, 'server');
    await applyObjects(kube, [
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'default-deny', namespace: NP },
        spec: { podSelector: {}, policyTypes: ['Ingress'] },
      },
    ]);
    await settle('allowed', ip, 8080, false);
    expect(await reach('other', ip, 8080)).toBeUndefined();
    expect(await reach('allowed', ip, 9090)).toBeUndefined();
  });

  it('an allow rule admits exactly the declared peer and port', async () => {
    const ip = await podIP(kube, NP, 'server');
    await applyObjects(kube, [
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'allow-allowed-8080', namespace: NP },
        spec: {
          podSelector: { matchLabels: { app: 'server' } },
          policyTypes: ['Ingress'],
          ingress: [{ from: [{ podSelector: { matchLabels: { role: 'allowed' } } }], ports: [{ protocol: 'TCP', port: 8080 }] }],
        },
      },
    ]);
    await settle('allowed', ip, 8080, true);
    expect(await reach('allowed', ip, 8080)).toBe('server:8080');
    expect(await reach('allowed', ip, 9090)).toBeUndefined();
    expect(await reach('other', ip, 8080)).toBeUndefined();
    expect(await reach('other', ip, 9090)).toBeUndefined();
  });

  it('an egress default-deny blocks the pod it selects, and DNS still needs its own rule', async () => {
    const ip = await podIP(kube, NP, 'server');
    await kube.ok(['-n', NP, 'delete', 'networkpolicy', 'default-deny', 'allow-allowed-8080']);
    await settle('other', ip, 8080, true);
    await applyObjects(kube, [
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'other-egress-dns-only', namespace: NP },
        spec: {
          podSelector: { matchLabels: { role: 'other' } },
          policyTypes: ['Egress'],
          egress: [
            {
              to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
              ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }],
            },
          ],
        },
      },
    ]);
    await settle('other', ip, 8080, false);
    expect(await reach('allowed', ip, 8080)).toBe('server:8080');
    const dns = await kube.kubectl(['-n', NP, 'exec', 'other', '--', 'nslookup', 'kubernetes.default.svc.cluster.local']);
    expect(dns.code, dns.stderr + dns.stdout).toBe(0);
  });
});
