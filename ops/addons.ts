/**
 * The cluster-wide add-ons the local manifests assume (docs/local-clusters.md), at the versions pinned
 * in scripts/crd-versions.env: kind gets the Gateway API CRDs, cloud-provider-kind, cert-manager with
 * Gateway API support and the prometheus-operator CRDs; k3d (whose k3s ships Traefik and its CRDs)
 * gets cert-manager and the monitoring CRDs. Each is detected first and left alone when it is at the
 * pinned version or newer.
 */
import type { Kubectl } from './kubectl';
import type { LocalEnvironment } from './cluster';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { OpsError, run, runOk, sleep } from './exec';
import { crdFile, pinnedVersion } from './pinned';
import { compareVersions, withV } from './versions';
import { packageRoot } from '../model/package-files';

export type AddOnAction = 'installed' | 'already' | 'upgraded' | 'newer kept' | 'left alone';

export interface AddOnResult {
  readonly name: string;
  readonly action: AddOnAction;
  /** The pinned version. */
  readonly version: string;
  /** What the cluster had before, when it had something. */
  readonly found?: string;
  readonly line: string;
}

export interface AddOnOptions {
  readonly log?: (line: string) => void;
  /**
   * kind only: false leaves cloud-provider-kind to the user (run on the host, as docs/local-clusters.md
   * shows); two instances would both program the same Gateways.
   * @default true
   */
  readonly cloudProviderKind?: boolean;
  /**
   * Add-ons to leave out, by id (addOnId: gateway-api-crds, cloud-provider-kind, cert-manager,
   * prometheus-operator-crds), for a cluster that has them from elsewhere.
   */
  readonly skip?: readonly string[];
  /** Where scripts/crd-versions.env and crds/ are. @default the package root */
  readonly root?: string;
  /** @default process.platform */
  readonly platform?: NodeJS.Platform;
}

/** The field manager of everything stackport applies to the cluster as an add-on. */
export const ADDON_MANAGER = 'stackport-addons';
export const CLOUD_PROVIDER_KIND_CONTAINER = 'stackport-cloud-provider-kind';
export const CLOUD_PROVIDER_KIND_IMAGE = 'registry.k8s.io/cloud-provider-kind/cloud-controller-manager';
export const CERT_MANAGER_CHART = 'oci://quay.io/jetstack/charts/cert-manager';

/** What an add-on is at now; `version` undefined with `present` means "there, version unknown". */
interface Found {
  readonly present: boolean;
  readonly version?: string;
  /** Present at the right version but missing a setting we need (cert-manager without Gateway API). */
  readonly incomplete?: string;
  /** Installed by something else we must not take over. */
  readonly foreign?: string;
}

interface AddOn {
  readonly name: string;
  readonly pinned: string;
  readonly find: () => Found;
  readonly install: (found: Found) => void;
}

/** Installs or upgrades what `env` needs, one report line per add-on (also passed to `log`). */
export function installAddOns(env: LocalEnvironment, kubectl: Kubectl, opts: AddOnOptions = {}): AddOnResult[] {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const root = opts.root ?? packageRoot();
  const pin = (name: Parameters<typeof pinnedVersion>[0]) => withV(pinnedVersion(name, root));
  const addOns: AddOn[] =
    env === 'kind'
      ? [
          // Before cloud-provider-kind, which only creates the Gateway CRDs it embeds when they are absent,
          // and before cert-manager, whose Gateway API support needs them at start-up.
          crdAddOn(kubectl, 'Gateway API CRDs', 'gateways.gateway.networking.k8s.io', 'gateway.networking.k8s.io/bundle-version', crdFile('gateway.networking.k8s.io', root), pin('GATEWAY_API_VERSION')),
          ...(opts.cloudProviderKind === false ? [] : [cloudProviderKind(pin('CLOUD_PROVIDER_KIND_VERSION'), opts.platform ?? process.platform)]),
          certManager(kubectl, pin('CERT_MANAGER_VERSION'), true),
          monitoringCrds(kubectl, root, pin('PROMETHEUS_OPERATOR_VERSION')),
        ]
      : [certManager(kubectl, pin('CERT_MANAGER_VERSION'), false), monitoringCrds(kubectl, root, pin('PROMETHEUS_OPERATOR_VERSION'))];
  const unknown = (opts.skip ?? []).filter((id) => !addOns.some((a) => addOnId(a.name) === id));
  if (unknown.length > 0) throw new OpsError(`--skip-addon ${unknown.join(', ')}: the ${env} add-ons are ${addOns.map((a) => addOnId(a.name)).join(', ')}`, 2);
  log(`add-ons (cluster-wide, context ${kubectl.context}):`);
  return addOns.map((a) => {
    if (opts.skip?.includes(addOnId(a.name))) {
      const r: AddOnResult = { name: a.name, action: 'left alone', version: a.pinned, line: `${a.name}: skipped (--skip-addon)` };
      log(`  ${r.line}`);
      return r;
    }
    const r = ensure(a);
    log(`  ${r.line}`);
    return r;
  });
}

/** How --skip-addon names an add-on: "Gateway API CRDs" -> gateway-api-crds. */
export function addOnId(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-');
}

function ensure(a: AddOn): AddOnResult {
  const found = a.find();
  const at = found.version ? withV(found.version) : undefined;
  const result = (action: AddOnAction, text: string): AddOnResult => ({ name: a.name, action, version: a.pinned, found: at, line: `${a.name}: ${text}` });
  if (found.foreign) return result('left alone', `${at ?? 'a version'} installed ${found.foreign}; left alone (stackport pins ${a.pinned})`);
  if (!found.present) {
    a.install(found);
    return result('installed', `installed ${a.pinned}`);
  }
  const order = at ? compareVersions(at, a.pinned) : -1;
  if (order > 0) return result('newer kept', `${at} kept (newer than the pinned ${a.pinned})`);
  if (order === 0 && !found.incomplete) return result('already', `already at ${a.pinned}`);
  a.install(found);
  if (order === 0) return result('upgraded', `already at ${a.pinned}; ${found.incomplete}`);
  return result('upgraded', `upgraded from ${at ?? 'an unlabelled version'} to ${a.pinned}`);
}

/** CRDs from a vendored file, versioned by an annotation upstream puts on each of them. */
function crdAddOn(kubectl: Kubectl, name: string, crd: string, annotation: string, file: string, pinned: string): AddOn {
  return {
    name,
    pinned,
    find: () => {
      const o = kubectl.json(['get', 'crd', crd]);
      return { present: Boolean(o), version: o?.metadata?.annotations?.[annotation] };
    },
    // Server-side: the HTTPRoute CRD is too big for client-side apply's annotation. Forcing conflicts
    // takes over fields another installer (an earlier cloud-provider-kind) wrote: stackport pins these.
    install: () => {
      kubectl.ok(['apply', '--server-side', '--force-conflicts', `--field-manager=${ADDON_MANAGER}`, '-f', file]);
      waitEstablished(kubectl, name, crdNames(file));
    },
  };
}

/** The names of the CustomResourceDefinitions in a vendored CRD file. */
export function crdNames(file: string): string[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => d.toJSON())
    .filter((d) => d?.kind === 'CustomResourceDefinition')
    .map((d) => d.metadata.name as string);
}

/**
 * The names among `names` whose CRD is missing or not Established, from what `kubectl get crd N...
 * -o json` printed: one object for one name, a List for several, nothing when none exists.
 */
export function notEstablished(got: any, names: readonly string[]): string[] {
  const items: any[] = got?.items ?? (got ? [got] : []);
  return names.filter((n) => !(items.find((i) => i.metadata?.name === n)?.status?.conditions ?? []).some((x: any) => x.type === 'Established' && x.status === 'True'));
}

/**
 * Returns once every CRD in `names` is Established, so the stack's objects of those kinds apply
 * right after: a CRD just created is not served until then (a second or more on a busy cluster).
 */
export function waitEstablished(kubectl: Kubectl, addOn: string, names: readonly string[], seconds = 60, pollMs = 500): void {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const got = kubectl.json(['get', 'customresourcedefinitions.apiextensions.k8s.io', ...names]);
    const items: any[] = got?.items ?? (got ? [got] : []);
    const pending = notEstablished(got, names);
    if (pending.length === 0) return;
    if (Date.now() >= deadline) {
      const why = pending.map((n) => {
        const c = items.find((i) => i.metadata?.name === n);
        const conditions = (c?.status?.conditions ?? []).map((x: any) => `${x.type}=${x.status}${x.message ? ` (${x.message})` : ''}`).join(', ');
        return `${n}: ${c ? conditions || 'no conditions yet' : 'not found'}`;
      });
      throw new OpsError(`${addOn}: applied, but not Established after ${seconds} s (the API server does not serve these kinds yet):\n  ${why.join('\n  ')}\nCheck the API server's log; kubectl get crd NAME -o yaml shows each one's conditions.`);
    }
    sleep(pollMs);
  }
}

function monitoringCrds(kubectl: Kubectl, root: string, pinned: string): AddOn {
  return crdAddOn(kubectl, 'prometheus-operator CRDs', 'servicemonitors.monitoring.coreos.com', 'operator.prometheus.io/version', crdFile('monitoring.coreos.com', root), pinned);
}

/**
 * cloud-provider-kind as a container on the `kind` Docker network with the Docker socket, the way its
 * README documents besides the host binary: it follows every kind cluster, so one container serves
 * them all, and it keeps running (restart unless-stopped) without a terminal held open. Inside a
 * container it cannot tell that the host is macOS or Windows, where Docker runs in a VM and the
 * Gateway's address is not reachable, so port mapping is asked for explicitly there.
 */
function cloudProviderKind(pinned: string, platform: NodeJS.Platform): AddOn {
  const image = `${CLOUD_PROVIDER_KIND_IMAGE}:${pinned}`;
  return {
    name: 'cloud-provider-kind',
    pinned,
    find: () => {
      const r = run('docker', ['inspect', '--format', '{{.Config.Image}} {{.State.Running}}', CLOUD_PROVIDER_KIND_CONTAINER]);
      if (r.status !== 0) return { present: false };
      const [ref, running] = r.stdout.trim().split(' ');
      const version = ref.startsWith(`${CLOUD_PROVIDER_KIND_IMAGE}:`) ? ref.slice(CLOUD_PROVIDER_KIND_IMAGE.length + 1) : undefined;
      return { present: true, version, incomplete: running === 'true' ? undefined : 'its stopped container started' };
    },
    install: (found) => {
      if (found.present && found.version && compareVersions(found.version, pinned) === 0) {
        runOk('docker', ['start', CLOUD_PROVIDER_KIND_CONTAINER]);
        return;
      }
      if (found.present) runOk('docker', ['rm', '--force', CLOUD_PROVIDER_KIND_CONTAINER]);
      runOk('docker', [
        'run', '--detach', '--name', CLOUD_PROVIDER_KIND_CONTAINER, '--restart', 'unless-stopped',
        '--network', 'kind', '--volume', '/var/run/docker.sock:/var/run/docker.sock',
        image, '--gateway-channel', 'standard', ...(platform === 'linux' ? [] : ['--enable-lb-port-mapping']),
      ]);
    },
  };
}

/**
 * cert-manager from its OCI chart with its CRDs. On kind its controller also serves Gateway API
 * (`config.enableGatewayAPI`, which the chart only renders with the config's apiVersion and kind set).
 * `--reset-then-reuse-values` (helm 3.14+) keeps values someone set on an earlier install.
 */
function certManager(kubectl: Kubectl, pinned: string, gatewayApi: boolean): AddOn {
  const helm = (args: string[]) => runOk('helm', [...args, '--kube-context', kubectl.context, ...(kubectl.target.kubeconfig ? ['--kubeconfig', kubectl.target.kubeconfig] : [])]);
  return {
    name: 'cert-manager',
    pinned,
    find: () => {
      const releases = parseJson(helm(['list', '--namespace', 'cert-manager', '--output', 'json']), 'helm list --namespace cert-manager --output json') as Array<{ name?: string; app_version?: string }>;
      const release = releases.find((r) => r.name === 'cert-manager');
      if (!release) {
        const deployment = kubectl.json(['--namespace', 'cert-manager', 'get', 'deployment', 'cert-manager']);
        if (!deployment) return { present: false };
        const image: string = deployment.spec?.template?.spec?.containers?.[0]?.image ?? '';
        return { present: true, version: /:(v?\d[^@]*)/.exec(image)?.[1], foreign: 'without helm (no release "cert-manager" in namespace cert-manager)' };
      }
      if (!gatewayApi) return { present: true, version: release.app_version };
      const values = parseJson(helm(['get', 'values', 'cert-manager', '--namespace', 'cert-manager', '--output', 'json']), 'helm get values cert-manager');
      return { present: true, version: release.app_version, incomplete: values?.config?.enableGatewayAPI === true ? undefined : 'Gateway API support turned on' };
    },
    install: () =>
      void helm([
        'upgrade', '--install', 'cert-manager', CERT_MANAGER_CHART, '--version', pinned,
        '--namespace', 'cert-manager', '--create-namespace', '--reset-then-reuse-values', '--set', 'crds.enabled=true',
        ...(gatewayApi ? ['--set', 'config.apiVersion=controller.config.cert-manager.io/v1alpha1', '--set', 'config.kind=ControllerConfiguration', '--set', 'config.enableGatewayAPI=true'] : []),
        '--wait',
      ]),
  };
}

function parseJson(text: string, what: string): any {
  try {
    return JSON.parse(text.trim() || 'null');
  } catch {
    throw new OpsError(`${what} printed something that is not JSON: ${text.slice(0, 200)}`);
  }
}
