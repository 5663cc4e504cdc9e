import { describe, expect, it } from 'vitest';
import { checkRestricted, podSpecsOf } from './pod-security';

const hardened = () => ({
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
});

/** A Deployment that satisfies "restricted"; each test breaks exactly one rule. */
const compliant = (): any => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'api' },
  spec: {
    selector: { matchLabels: { app: 'api' } },
    template: {
      metadata: { labels: { app: 'api' }, annotations: { [`container.apparmor.security.beta.kubernetes.io/api`]: 'runtime/default' } },
      spec: {
        securityContext: {
          runAsNonRoot: true,
          runAsUser: 10001,
          seccompProfile: { type: 'RuntimeDefault' },
          sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }],
          seLinuxOptions: { level: 's0:c123,c456' },
        },
        initContainers: [{ name: 'migrate', image: 'api:1', securityContext: hardened() }],
        containers: [
          {
            name: 'api',
            image: 'api:1',
            ports: [{ containerPort: 8080 }],
            readinessProbe: { httpGet: { path: '/healthz', port: 8080 } },
            securityContext: { ...hardened(), capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } },
          },
        ],
        volumes: [
          { name: 'tmp', emptyDir: {} },
          { name: 'cfg', configMap: { name: 'api' } },
          { name: 'data', persistentVolumeClaim: { claimName: 'data' } },
        ],
      },
    },
  },
});

/** Applies `mutate` to the pod spec of a fresh compliant Deployment. */
function violating(mutate: (spec: any, template: any) => void): any {
  const d = compliant();
  mutate(d.spec.template.spec, d.spec.template);
  return d;
}
const api = (spec: any) => spec.containers[0];

describe('checkRestricted', () => {
  it('accepts a compliant Deployment', () => {
    expect(checkRestricted(compliant())).toEqual([]);
  });

  it('accepts container-level settings in place of pod-level ones', () => {
    const d = violating((spec) => {
      delete spec.securityContext;
      for (const c of [...spec.containers, ...spec.initContainers]) {
        Object.assign(c.securityContext, { runAsNonRoot: true, seccompProfile: { type: 'Localhost', localhostProfile: 'p.json' } });
      }
    });
    expect(checkRestricted(d)).toEqual([]);
  });

  it('returns [] for objects without a pod template', () => {
    expect(checkRestricted({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'api' }, spec: {} })).toEqual([]);
  });

  const cases: [string, (spec: any, template: any) => void, string][] = [
    ['hostNetwork', (s) => (s.hostNetwork = true), 'Deployment/api pod: hostNetwork must not be true'],
    ['hostPID', (s) => (s.hostPID = true), 'Deployment/api pod: hostPID must not be true'],
    ['hostIPC', (s) => (s.hostIPC = true), 'Deployment/api pod: hostIPC must not be true'],
    ['privileged', (s) => (api(s).securityContext.privileged = true), 'Deployment/api container "api": securityContext.privileged must not be true'],
    ['drop ALL', (s) => (api(s).securityContext.capabilities.drop = ['NET_RAW']), 'Deployment/api container "api": securityContext.capabilities.drop must include ALL'],
    ['missing capabilities', (s) => delete api(s).securityContext.capabilities, 'Deployment/api container "api": securityContext.capabilities.drop must include ALL'],
    ['add capability', (s) => (api(s).securityContext.capabilities.add = ['NET_BIND_SERVICE', 'SYS_ADMIN']), 'Deployment/api container "api": securityContext.capabilities.add may only contain NET_BIND_SERVICE (got SYS_ADMIN)'],
    ['hostPath volume', (s) => s.volumes.push({ name: 'sock', hostPath: { path: '/var/run/docker.sock' } }), 'Deployment/api volume "sock": hostPath volumes are forbidden'],
    ['nfs volume', (s) => s.volumes.push({ name: 'share', nfs: { server: 'nas', path: '/x' } }), 'Deployment/api volume "share": volume type nfs is not allowed'],
    ['hostPort', (s) => (api(s).ports[0].hostPort = 8080), 'Deployment/api container "api": ports[0].hostPort must not be set (got 8080)'],
    ['allowPrivilegeEscalation unset', (s) => delete api(s).securityContext.allowPrivilegeEscalation, 'Deployment/api container "api": securityContext.allowPrivilegeEscalation must be false'],
    ['initContainer privilege escalation', (s) => (s.initContainers[0].securityContext.allowPrivilegeEscalation = true), 'Deployment/api initContainer "migrate": securityContext.allowPrivilegeEscalation must be false'],
    ['runAsNonRoot unset everywhere', (s) => delete s.securityContext.runAsNonRoot, 'Deployment/api container "api": securityContext.runAsNonRoot must be true (on the container or the pod)'],
    ['container runAsNonRoot false overrides pod', (s) => (api(s).securityContext.runAsNonRoot = false), 'Deployment/api container "api": securityContext.runAsNonRoot must not be false'],
    ['pod runAsUser 0', (s) => (s.securityContext.runAsUser = 0), 'Deployment/api pod: securityContext.runAsUser must not be 0'],
    ['container runAsUser 0', (s) => (api(s).securityContext.runAsUser = 0), 'Deployment/api container "api": securityContext.runAsUser must not be 0'],
    ['seccomp unset everywhere', (s) => delete s.securityContext.seccompProfile, 'Deployment/api initContainer "migrate": securityContext.seccompProfile.type must be RuntimeDefault or Localhost (on the container or the pod)'],
    ['container seccomp Unconfined', (s) => (api(s).securityContext.seccompProfile = { type: 'Unconfined' }), 'Deployment/api container "api": securityContext.seccompProfile.type must be RuntimeDefault or Localhost (got Unconfined)'],
    ['pod seccomp Unconfined', (s) => (s.securityContext.seccompProfile = { type: 'Unconfined' }), 'Deployment/api pod: securityContext.seccompProfile.type must be RuntimeDefault or Localhost (got Unconfined)'],
    ['procMount', (s) => (api(s).securityContext.procMount = 'Unmasked'), 'Deployment/api container "api": securityContext.procMount must be unset or Default (got Unmasked)'],
    ['unsafe sysctl', (s) => s.securityContext.sysctls.push({ name: 'kernel.msgmax', value: '1' }), 'Deployment/api pod: securityContext.sysctls "kernel.msgmax" is not a safe sysctl'],
    ['probe host', (s) => (api(s).readinessProbe.httpGet.host = '169.254.169.254'), 'Deployment/api container "api": readinessProbe.httpGet.host must not be set'],
    ['lifecycle host', (s) => (api(s).lifecycle = { preStop: { tcpSocket: { host: '10.0.0.1', port: 1 } } }), 'Deployment/api container "api": lifecycle.preStop.tcpSocket.host must not be set'],
    ['appArmor field', (s) => (api(s).securityContext.appArmorProfile = { type: 'Unconfined' }), 'Deployment/api container "api": securityContext.appArmorProfile.type must be RuntimeDefault or Localhost (got Unconfined)'],
    ['appArmor annotation', (_s, t) => (t.metadata.annotations['container.apparmor.security.beta.kubernetes.io/api'] = 'unconfined'), 'Deployment/api pod: annotation container.apparmor.security.beta.kubernetes.io/api="unconfined" is a forbidden AppArmor profile'],
    ['seLinux type', (s) => (s.securityContext.seLinuxOptions.type = 'spc_t'), 'Deployment/api pod: securityContext.seLinuxOptions.type "spc_t" is not allowed'],
    ['seLinux user', (s) => (api(s).securityContext.seLinuxOptions = { user: 'system_u' }), 'Deployment/api container "api": securityContext.seLinuxOptions.user must not be set'],
    ['seLinux role', (s) => (api(s).securityContext.seLinuxOptions = { role: 'sysadm_r' }), 'Deployment/api container "api": securityContext.seLinuxOptions.role must not be set'],
    ['hostProcess', (s) => (s.securityContext.windowsOptions = { hostProcess: true }), 'Deployment/api pod: securityContext.windowsOptions.hostProcess must not be true'],
  ];

  it.each(cases)('flags %s', (_name, mutate, message) => {
    expect(checkRestricted(violating(mutate))).toContain(message);
  });

  it('reports only the broken rule', () => {
    // Guards against a check that fires on everything: one mutation, one message.
    expect(checkRestricted(violating((s) => (s.hostNetwork = true)))).toEqual(['Deployment/api pod: hostNetwork must not be true']);
  });

  it('checks the pod template of a CronJob', () => {
    const spec = compliant().spec.template.spec;
    spec.containers[0].securityContext.capabilities.drop = [];
    const cron = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'report' },
      spec: { schedule: '@daily', jobTemplate: { spec: { template: { spec: { ...spec, restartPolicy: 'Never' } } } } },
    };
    expect(checkRestricted(cron)).toEqual(['CronJob/report container "api": securityContext.capabilities.drop must include ALL']);
  });

  it('checks bare Pods and Jobs as well', () => {
    const spec = compliant().spec.template.spec;
    spec.hostPID = true;
    expect(checkRestricted({ kind: 'Pod', metadata: { name: 'p' }, spec })).toEqual(['Pod/p pod: hostPID must not be true']);
    expect(checkRestricted({ kind: 'Job', metadata: { name: 'j' }, spec: { template: { spec } } })).toEqual(['Job/j pod: hostPID must not be true']);
  });
});

describe('podSpecsOf', () => {
  it('finds the pod spec of every workload kind', () => {
    const spec = { containers: [] };
    for (const kind of ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job']) {
      expect(podSpecsOf({ kind, spec: { template: { spec } } })).toEqual([spec]);
    }
    expect(podSpecsOf({ kind: 'Pod', spec })).toEqual([spec]);
    expect(podSpecsOf({ kind: 'CronJob', spec: { jobTemplate: { spec: { template: { spec } } } } })).toEqual([spec]);
    expect(podSpecsOf({ kind: 'ConfigMap', data: {} })).toEqual([]);
  });
});
