/**
 * Pod Security Standards "restricted" profile (latest, which includes
 * baseline), mirroring the checks of k8s.io/pod-security-admission
 * (policy/check_*.go) so that a manifest passing here is admitted by a
 * namespace labelled `pod-security.kubernetes.io/enforce: restricted`.
 *
 * Precedence follows upstream exactly:
 *  - runAsNonRoot / seccompProfile: a container may leave the field unset when
 *    the pod sets a valid value; an explicit container value is judged on its
 *    own; an explicit bad pod value fails even if every container overrides it.
 *  - runAsUser=0, appArmorProfile, seLinuxOptions: every place that sets the
 *    field is checked (pod and containers), unset is fine.
 *  - allowPrivilegeEscalation and capabilities exist only on containers, so
 *    each container must set them itself.
 * Deliberate difference: upstream can relax runAsNonRoot/runAsUser for
 * `hostUsers: false` pods behind an admission option; we never do (stricter).
 */

export interface PodTemplate {
  /** Pod metadata (annotations carry the legacy AppArmor profiles). */
  metadata: any;
  spec: any;
}

/** The pod template(s) carried by an object; [] for objects without one. */
export function podTemplatesOf(obj: any): PodTemplate[] {
  const wrap = (t: any): PodTemplate[] => (t?.spec ? [{ metadata: t.metadata ?? {}, spec: t.spec }] : []);
  switch (obj?.kind) {
    case 'Pod':
      return wrap(obj);
    case 'PodTemplate':
      return wrap(obj.template);
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'ReplicaSet':
    case 'ReplicationController':
    case 'Job':
      return wrap(obj.spec?.template);
    case 'CronJob':
      return wrap(obj.spec?.jobTemplate?.spec?.template);
    default:
      return [];
  }
}

/** The pod spec(s) of an object; [] for objects without a pod template. */
export function podSpecsOf(obj: any): any[] {
  return podTemplatesOf(obj).map((t) => t.spec);
}

const ALLOWED_VOLUME_TYPES = new Set([
  'configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'image', 'persistentVolumeClaim', 'projected', 'secret',
]);
// check_sysctls.go, newest set (1.32+).
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range',
  'net.ipv4.ip_unprivileged_port_start', 'net.ipv4.ip_local_reserved_ports', 'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes', 'net.ipv4.tcp_rmem',
  'net.ipv4.tcp_wmem',
]);
// container_engine_t was added to the allowed set in 1.31.
const SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);
const SECCOMP_OK = new Set(['RuntimeDefault', 'Localhost']);
const APPARMOR_OK = new Set(['RuntimeDefault', 'Localhost']);
const APPARMOR_ANNOTATION = 'container.apparmor.security.beta.kubernetes.io/';

interface Visited {
  who: string; // `container "api"`, `initContainer "migrate"`, ...
  c: any;
  sc: any; // container securityContext, {} when absent
}

function containersOf(spec: any): Visited[] {
  const lists: [string, any[] | undefined][] = [
    ['container', spec.containers],
    ['initContainer', spec.initContainers],
    ['ephemeralContainer', spec.ephemeralContainers],
  ];
  return lists.flatMap(([label, list]) =>
    (list ?? []).map((c) => ({ who: `${label} ${JSON.stringify(c?.name ?? '?')}`, c, sc: c?.securityContext ?? {} })),
  );
}

/** Baseline + restricted checks of one pod template; messages are `<who>: <problem>`. */
function checkPod({ metadata, spec }: PodTemplate): string[] {
  const out: string[] = [];
  const pod = (msg: string) => out.push(`pod: ${msg}`);
  const psc = spec.securityContext ?? {};
  const containers = containersOf(spec);
  // Upstream exempts Windows pods (spec.os.name) from these Linux-only controls (1.25+).
  const linux = spec.os?.name !== 'windows';

  // --- baseline ---
  for (const f of ['hostNetwork', 'hostPID', 'hostIPC']) if (spec[f] === true) pod(`${f} must not be true`);
  if (psc.windowsOptions?.hostProcess === true) pod('securityContext.windowsOptions.hostProcess must not be true');
  for (const s of psc.sysctls ?? []) {
    if (!SAFE_SYSCTLS.has(s?.name)) pod(`securityContext.sysctls ${JSON.stringify(s?.name)} is not a safe sysctl`);
  }
  for (const [k, v] of Object.entries<any>(metadata.annotations ?? {})) {
    if (k.startsWith(APPARMOR_ANNOTATION) && v !== '' && v !== 'runtime/default' && !String(v).startsWith('localhost/')) {
      pod(`annotation ${k}=${JSON.stringify(v)} is a forbidden AppArmor profile`);
    }
  }
  const appArmor = (who: string, sc: any) => {
    const t = sc.appArmorProfile?.type;
    if (sc.appArmorProfile && !APPARMOR_OK.has(t)) out.push(`${who}: securityContext.appArmorProfile.type must be RuntimeDefault or Localhost (got ${t})`);
  };
  const seLinux = (who: string, sc: any) => {
    const o = sc.seLinuxOptions;
    if (!o) return;
    if (!SELINUX_TYPES.has(o.type ?? '')) out.push(`${who}: securityContext.seLinuxOptions.type ${JSON.stringify(o.type)} is not allowed`);
    if (o.user) out.push(`${who}: securityContext.seLinuxOptions.user must not be set`);
    if (o.role) out.push(`${who}: securityContext.seLinuxOptions.role must not be set`);
  };
  appArmor('pod', psc);
  seLinux('pod', psc);

  // --- restricted: volumes (also covers the baseline hostPath ban) ---
  for (const v of spec.volumes ?? []) {
    const types = Object.keys(v ?? {}).filter((k) => k !== 'name');
    for (const t of types) {
      if (t === 'hostPath') out.push(`volume ${JSON.stringify(v.name)}: hostPath volumes are forbidden`);
      else if (!ALLOWED_VOLUME_TYPES.has(t)) out.push(`volume ${JSON.stringify(v.name)}: volume type ${t} is not allowed`);
    }
  }

  // --- pod-level values of the restricted user/seccomp controls ---
  const podNonRoot = psc.runAsNonRoot === true;
  if (psc.runAsNonRoot === false) pod('securityContext.runAsNonRoot must not be false');
  if (psc.runAsUser === 0) pod('securityContext.runAsUser must not be 0');
  const podSeccompType = psc.seccompProfile ? psc.seccompProfile.type : undefined;
  const podSeccompOk = podSeccompType !== undefined && SECCOMP_OK.has(podSeccompType);
  if (linux && psc.seccompProfile && !podSeccompOk) {
    pod(`securityContext.seccompProfile.type must be RuntimeDefault or Localhost (got ${podSeccompType})`);
  }

  for (const { who, c, sc } of containers) {
    const bad = (msg: string) => out.push(`${who}: ${msg}`);
    // baseline
    if (sc.privileged === true) bad('securityContext.privileged must not be true');
    if (sc.windowsOptions?.hostProcess === true) bad('securityContext.windowsOptions.hostProcess must not be true');
    (c.ports ?? []).forEach((p: any, i: number) => {
      if (p?.hostPort) bad(`ports[${i}].hostPort must not be set (got ${p.hostPort})`);
    });
    if (sc.procMount !== undefined && sc.procMount !== 'Default') bad(`securityContext.procMount must be unset or Default (got ${sc.procMount})`);
    appArmor(who, sc);
    seLinux(who, sc);
    for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
      for (const h of ['httpGet', 'tcpSocket']) if (c[probe]?.[h]?.host) bad(`${probe}.${h}.host must not be set`);
    }
    for (const hook of ['postStart', 'preStop']) {
      for (const h of ['httpGet', 'tcpSocket']) if (c.lifecycle?.[hook]?.[h]?.host) bad(`lifecycle.${hook}.${h}.host must not be set`);
    }
    // restricted
    if (linux && sc.allowPrivilegeEscalation !== false) bad('securityContext.allowPrivilegeEscalation must be false');
    if (linux) {
      const caps = sc.capabilities ?? {};
      if (!(caps.drop ?? []).includes('ALL')) bad('securityContext.capabilities.drop must include ALL');
      const added = (caps.add ?? []).filter((x: string) => x !== 'NET_BIND_SERVICE');
      if (added.length > 0) bad(`securityContext.capabilities.add may only contain NET_BIND_SERVICE (got ${added.join(', ')})`);
    }
    if (sc.runAsNonRoot === false) bad('securityContext.runAsNonRoot must not be false');
    else if (sc.runAsNonRoot === undefined && !podNonRoot) bad('securityContext.runAsNonRoot must be true (on the container or the pod)');
    if (sc.runAsUser === 0) bad('securityContext.runAsUser must not be 0');
    if (linux) {
      if (sc.seccompProfile) {
        const t = sc.seccompProfile.type;
        if (!SECCOMP_OK.has(t)) bad(`securityContext.seccompProfile.type must be RuntimeDefault or Localhost (got ${t})`);
      } else if (!podSeccompOk) {
        bad('securityContext.seccompProfile.type must be RuntimeDefault or Localhost (on the container or the pod)');
      }
    }
  }
  return out;
}

/**
 * Violations of the "restricted" profile, one line each, e.g.
 * `Deployment/api container "api": securityContext.capabilities.drop must include ALL`.
 * [] for compliant objects and for objects without a pod template.
 */
export function checkRestricted(obj: any): string[] {
  const ref = `${obj?.kind ?? '?'}/${obj?.metadata?.name ?? '?'}`;
  return podTemplatesOf(obj).flatMap((t) => checkPod(t).map((m) => `${ref} ${m}`));
}
