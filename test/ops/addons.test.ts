/**
 * The cluster-wide add-ons against recording stand-ins for kubectl, helm and docker: an empty cluster
 * gets everything in order, one at the pinned versions gets nothing, an older one is upgraded, a newer
 * or foreign one is left alone.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { crdNames, installAddOns, waitEstablished } from '../../ops/addons';
import { Kubectl } from '../../ops/kubectl';
import { packageRoot } from '../../model/package-files';
import { pinnedVersion } from '../../ops/pinned';
import { standIns, type Reply, type StandIns } from './standins';

let tools: StandIns | undefined;
afterEach(() => {
  tools?.restore();
  tools = undefined;
});

const root = packageRoot();
const CERT_MANAGER = pinnedVersion('CERT_MANAGER_VERSION');
const GATEWAY = pinnedVersion('GATEWAY_API_VERSION');
const PROMETHEUS = pinnedVersion('PROMETHEUS_OPERATOR_VERSION');
const CPK = pinnedVersion('CLOUD_PROVIDER_KIND_VERSION');
const CPK_IMAGE = `registry.k8s.io/cloud-provider-kind/cloud-controller-manager:${CPK}`;

const crd = (annotations: Record<string, string>) => `${JSON.stringify({ kind: 'CustomResourceDefinition', metadata: { annotations } })}\n`;
const crdFileOf = (group: string) => join(root, 'crds', `${group}.yaml`);
/** What the API server answers for CRDs, each with its Established condition. */
const crdList = (established: Record<string, boolean>) =>
  `${JSON.stringify({ kind: 'List', items: Object.entries(established).map(([name, ok]) => ({ metadata: { name }, status: { conditions: [{ type: 'NamesAccepted', status: 'True' }, { type: 'Established', status: ok ? 'True' : 'False', ...(ok ? {} : { message: 'not all names are accepted' }) }] } })) })}\n`;
const everyCrdEstablished = { match: '*get customresourcedefinitions.apiextensions.k8s.io*', stdout: crdList(Object.fromEntries(['gateway.networking.k8s.io', 'monitoring.coreos.com'].flatMap((g) => crdNames(crdFileOf(g)).map((n) => [n, true])))) };
const cluster = (o: { gateway?: string; prometheus?: string; release?: string; gatewayValues?: boolean; cpk?: string; cpkRunning?: boolean; deployment?: string }) => ({
  kubectl: [
    everyCrdEstablished,
    { match: '*get crd gateways.gateway.networking.k8s.io*', stdout: o.gateway ? crd({ 'gateway.networking.k8s.io/bundle-version': o.gateway }) : '' },
    { match: '*get crd servicemonitors.monitoring.coreos.com*', stdout: o.prometheus ? crd({ 'operator.prometheus.io/version': o.prometheus }) : '' },
    { match: '*get deployment cert-manager*', stdout: o.deployment ? `${JSON.stringify({ spec: { template: { spec: { containers: [{ image: o.deployment }] } } } })}\n` : '' },
  ],
  helm: [
    { match: 'list --namespace cert-manager --output json*', stdout: o.release ? `[{"name":"cert-manager","namespace":"cert-manager","status":"deployed","chart":"cert-manager-${o.release}","app_version":"${o.release}"}]\n` : '[]\n' },
    { match: 'get values cert-manager*', stdout: o.gatewayValues ? '{"config":{"apiVersion":"controller.config.cert-manager.io/v1alpha1","enableGatewayAPI":true,"kind":"ControllerConfiguration"},"crds":{"enabled":true}}\n' : '{"crds":{"enabled":true}}\n' },
  ],
  docker: [o.cpk ? { match: 'inspect *', stdout: `${o.cpk} ${o.cpkRunning ?? true}\n` } : { match: 'inspect *', stderr: 'Error: No such object: stackport-cloud-provider-kind\n', exit: 1 }] as Reply[],
});

const GATEWAY_APPLY = `kubectl --context kind-dataplatform apply --server-side --force-conflicts --field-manager=stackport-addons -f ${crdFileOf('gateway.networking.k8s.io')}`;
const MONITORING_APPLY = (ctx: string) => `kubectl --context ${ctx} apply --server-side --force-conflicts --field-manager=stackport-addons -f ${crdFileOf('monitoring.coreos.com')}`;
/** The look, right after an apply, that every CRD of the file is Established. */
const ESTABLISHED = (ctx: string, group: string) => `kubectl --context ${ctx} get customresourcedefinitions.apiextensions.k8s.io ${crdNames(crdFileOf(group)).join(' ')} -o json --ignore-not-found`;
const HELM_INSTALL = (gateway: boolean, ctx: string) =>
  [
    `helm upgrade --install cert-manager oci://quay.io/jetstack/charts/cert-manager --version ${CERT_MANAGER} --namespace cert-manager --create-namespace --reset-then-reuse-values --set crds.enabled=true`,
    ...(gateway ? ['--set config.apiVersion=controller.config.cert-manager.io/v1alpha1 --set config.kind=ControllerConfiguration --set config.enableGatewayAPI=true'] : []),
    `--wait --kube-context ${ctx}`,
  ].join(' ');
const CPK_RUN = `docker run --detach --name stackport-cloud-provider-kind --restart unless-stopped --network kind --volume /var/run/docker.sock:/var/run/docker.sock ${CPK_IMAGE} --gateway-channel standard`;

function install(env: 'kind' | 'k3d', platform: NodeJS.Platform = 'linux') {
  const lines: string[] = [];
  const results = installAddOns(env, new Kubectl({ context: `${env}-dataplatform` }), { log: (l) => lines.push(l), platform, root });
  return { results, lines, commands: tools!.commands() };
}

describe('installAddOns on kind', () => {
  it('an empty cluster: Gateway API CRDs, cloud-provider-kind, cert-manager with Gateway API, monitoring CRDs, in that order', () => {
    tools = standIns(cluster({}));
    const { results, lines, commands } = install('kind');
    expect(commands).toEqual([
      'kubectl --context kind-dataplatform get crd gateways.gateway.networking.k8s.io -o json --ignore-not-found',
      GATEWAY_APPLY,
      ESTABLISHED('kind-dataplatform', 'gateway.networking.k8s.io'),
      'docker inspect --format {{.Config.Image}} {{.State.Running}} stackport-cloud-provider-kind',
      CPK_RUN,
      'helm list --namespace cert-manager --output json --kube-context kind-dataplatform',
      'kubectl --context kind-dataplatform --namespace cert-manager get deployment cert-manager -o json --ignore-not-found',
      HELM_INSTALL(true, 'kind-dataplatform'),
      'kubectl --context kind-dataplatform get crd servicemonitors.monitoring.coreos.com -o json --ignore-not-found',
      MONITORING_APPLY('kind-dataplatform'),
      ESTABLISHED('kind-dataplatform', 'monitoring.coreos.com'),
    ]);
    expect(results.map((r) => r.action)).toEqual(['installed', 'installed', 'installed', 'installed']);
    expect(lines).toEqual([
      'add-ons (cluster-wide, context kind-dataplatform):',
      `  Gateway API CRDs: installed ${GATEWAY}`,
      `  cloud-provider-kind: installed ${CPK}`,
      `  cert-manager: installed ${CERT_MANAGER}`,
      `  prometheus-operator CRDs: installed ${PROMETHEUS}`,
    ]);
  });

  it('everything at the pinned versions: only looks, installs nothing', () => {
    tools = standIns(cluster({ gateway: GATEWAY, prometheus: PROMETHEUS.replace(/^v/, ''), release: CERT_MANAGER, gatewayValues: true, cpk: CPK_IMAGE }));
    const { results, lines, commands } = install('kind');
    expect(commands.filter((c) => / (apply|upgrade|run|start|rm) /.test(c))).toEqual([]);
    expect(results.map((r) => r.action)).toEqual(['already', 'already', 'already', 'already']);
    expect(lines.slice(1)).toEqual([`  Gateway API CRDs: already at ${GATEWAY}`, `  cloud-provider-kind: already at ${CPK}`, `  cert-manager: already at ${CERT_MANAGER}`, `  prometheus-operator CRDs: already at ${PROMETHEUS}`]);
  });

  it('older versions are upgraded, each line saying from what', () => {
    tools = standIns(cluster({ gateway: 'v1.2.1', prometheus: '0.80.0', release: 'v1.17.1', gatewayValues: true, cpk: 'registry.k8s.io/cloud-provider-kind/cloud-controller-manager:v0.6.0' }));
    const { results, lines, commands } = install('kind');
    expect(commands.filter((c) => / (apply|upgrade|run|start|rm) /.test(c))).toEqual([GATEWAY_APPLY, 'docker rm --force stackport-cloud-provider-kind', CPK_RUN, HELM_INSTALL(true, 'kind-dataplatform'), MONITORING_APPLY('kind-dataplatform')]);
    expect(results.map((r) => [r.action, r.found])).toEqual([
      ['upgraded', 'v1.2.1'],
      ['upgraded', 'v0.6.0'],
      ['upgraded', 'v1.17.1'],
      ['upgraded', 'v0.80.0'],
    ]);
    expect(lines[1]).toBe(`  Gateway API CRDs: upgraded from v1.2.1 to ${GATEWAY}`);
    expect(lines[3]).toBe(`  cert-manager: upgraded from v1.17.1 to ${CERT_MANAGER}`);
  });

  it('cert-manager at the pinned version without Gateway API support is reinstalled with it; a stopped cloud-provider-kind is started', () => {
    tools = standIns(cluster({ gateway: GATEWAY, prometheus: PROMETHEUS, release: CERT_MANAGER, gatewayValues: false, cpk: CPK_IMAGE, cpkRunning: false }));
    const { lines, commands } = install('kind');
    expect(commands.filter((c) => / (apply|upgrade|run|start|rm) /.test(c))).toEqual(['docker start stackport-cloud-provider-kind', HELM_INSTALL(true, 'kind-dataplatform')]);
    expect(lines[2]).toBe(`  cloud-provider-kind: already at ${CPK}; its stopped container started`);
    expect(lines[3]).toBe(`  cert-manager: already at ${CERT_MANAGER}; Gateway API support turned on`);
  });

  it('newer versions are kept, and cert-manager installed without helm is left alone', () => {
    tools = standIns(cluster({ gateway: 'v9.0.0', prometheus: '9.0.0', deployment: 'quay.io/jetstack/cert-manager-controller:v1.12.0', cpk: CPK_IMAGE }));
    const { results, lines, commands } = install('kind');
    expect(commands.filter((c) => / (apply|upgrade|run|start|rm) /.test(c))).toEqual([]);
    expect(results.map((r) => r.action)).toEqual(['newer kept', 'already', 'left alone', 'newer kept']);
    expect(lines[1]).toBe(`  Gateway API CRDs: v9.0.0 kept (newer than the pinned ${GATEWAY})`);
    expect(lines[3]).toBe(`  cert-manager: v1.12.0 installed without helm (no release "cert-manager" in namespace cert-manager); left alone (stackport pins ${CERT_MANAGER})`);
  });

  it('on macOS, cloud-provider-kind in a container publishes the Gateway ports itself', () => {
    tools = standIns(cluster({ gateway: GATEWAY, prometheus: PROMETHEUS, release: CERT_MANAGER, gatewayValues: true }));
    expect(install('kind', 'darwin').commands.filter((c) => c.startsWith('docker run'))).toEqual([`${CPK_RUN} --enable-lb-port-mapping`]);
  });

  it('cloudProviderKind: false leaves it to the user', () => {
    tools = standIns(cluster({}));
    const results = installAddOns('kind', new Kubectl({ context: 'kind-dataplatform' }), { log: () => undefined, cloudProviderKind: false, root });
    expect(results.map((r) => r.name)).toEqual(['Gateway API CRDs', 'cert-manager', 'prometheus-operator CRDs']);
    expect(tools.commands().some((c) => c.startsWith('docker'))).toBe(false);
  });
});

describe('installAddOns on k3d', () => {
  it('cert-manager without Gateway API settings and the monitoring CRDs; no Gateway CRDs, no cloud-provider-kind (k3s brings Traefik)', () => {
    tools = standIns(cluster({}));
    const { lines, commands } = install('k3d');
    expect(commands).toEqual([
      'helm list --namespace cert-manager --output json --kube-context k3d-dataplatform',
      'kubectl --context k3d-dataplatform --namespace cert-manager get deployment cert-manager -o json --ignore-not-found',
      HELM_INSTALL(false, 'k3d-dataplatform'),
      'kubectl --context k3d-dataplatform get crd servicemonitors.monitoring.coreos.com -o json --ignore-not-found',
      MONITORING_APPLY('k3d-dataplatform'),
      ESTABLISHED('k3d-dataplatform', 'monitoring.coreos.com'),
    ]);
    expect(lines).toEqual(['add-ons (cluster-wide, context k3d-dataplatform):', `  cert-manager: installed ${CERT_MANAGER}`, `  prometheus-operator CRDs: installed ${PROMETHEUS}`]);
  });

  it('helm is given the kubeconfig the kubectl was bound to', () => {
    tools = standIns(cluster({ release: CERT_MANAGER, prometheus: PROMETHEUS }));
    installAddOns('k3d', new Kubectl({ context: 'k3d-dataplatform', kubeconfig: '/tmp/kc' }), { log: () => undefined, root });
    expect(tools.commands().filter((c) => c.startsWith('helm'))).toEqual(['helm list --namespace cert-manager --output json --kube-context k3d-dataplatform --kubeconfig /tmp/kc']);
  });
});

describe('CRDs installed by an add-on are Established before the stack is applied', () => {
  const names = ['servicemonitors.monitoring.coreos.com', 'podmonitors.monitoring.coreos.com'];
  const get = `kubectl --context kind-dataplatform get customresourcedefinitions.apiextensions.k8s.io ${names.join(' ')} -o json --ignore-not-found`;

  it('names the CRDs of a vendored file', () => {
    expect(crdNames(crdFileOf('monitoring.coreos.com'))).toEqual(['servicemonitors.monitoring.coreos.com', 'podmonitors.monitoring.coreos.com', 'prometheusrules.monitoring.coreos.com']);
  });

  it('looks again until the API server has established every one (the first look finds one without a status)', () => {
    // The first answer lacks a status entirely (what a busy API server shows right after the apply),
    // the second has every CRD Established: the stand-in tells its calls apart by a flag file.
    const first = `${JSON.stringify({ kind: 'List', items: [{ metadata: { name: names[0] } }, { metadata: { name: names[1] }, status: { conditions: [{ type: 'Established', status: 'True' }] } }] })}\n`;
    tools = standIns({
      kubectl: [
        { match: '*get customresourcedefinitions*', sh: `if test -e "$STATE/looked"; then printf '%s' '${crdList({ [names[0]]: true, [names[1]]: true }).trim()}'; else printf '%s' '${first.trim()}'; touch "$STATE/looked"; fi` },
      ],
    });
    waitEstablished(new Kubectl({ context: 'kind-dataplatform' }), 'prometheus-operator CRDs', names, 5, 10);
    expect(tools.commands()).toEqual([get, get]);
  });

  it('gives up at the deadline, naming each CRD that is not Established and its conditions', () => {
    tools = standIns({ kubectl: [{ match: '*get customresourcedefinitions*', stdout: crdList({ [names[0]]: true, [names[1]]: false }) }] });
    expect(() => waitEstablished(new Kubectl({ context: 'kind-dataplatform' }), 'prometheus-operator CRDs', names, 0.05, 10)).toThrow(
      /^prometheus-operator CRDs: applied, but not Established after 0\.05 s .*\n {2}podmonitors\.monitoring\.coreos\.com: NamesAccepted=True, Established=False \(not all names are accepted\)\n/,
    );
  });

  it('says when a CRD is missing altogether', () => {
    tools = standIns({ kubectl: [{ match: '*get customresourcedefinitions*', stdout: '' }] });
    expect(() => waitEstablished(new Kubectl({ context: 'kind-dataplatform' }), 'Gateway API CRDs', [names[0]], 0.05, 10)).toThrow(`${names[0]}: not found`);
  });
});
