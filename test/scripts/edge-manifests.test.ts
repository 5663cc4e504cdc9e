/**
 * The runtime edge test's install manifests (scripts/edge/manifests), checked without a cluster:
 * every placeholder is known, every image is one scripts/node/images.sh --edge builds (at the
 * version build.sh pins), nothing can be pulled, and every pod meets Pod Security "restricted".
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ROOT } from '../cluster/kube';
import { edgeManifest } from '../runtime/edge';

const MANIFESTS = readdirSync(join(ROOT, 'scripts/edge/manifests'))
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => f.replace(/\.yaml$/, ''));
const EXTRA = { EDGE_ADDRESS: '10.96.0.80', ACME_HOST: 'prod.edge.example' };
const docs = (name: string) => parseAllDocuments(edgeManifest(name, EXTRA)).map((d) => d.toJSON()).filter(Boolean);

/** The image each edge component is packed in, as images.sh names it: stackport.local/NAME:VERSION. */
function builtImages(): Set<string> {
  const out = new Set<string>();
  const components = ['traefik', 'cert-manager-controller', 'cert-manager-webhook', 'cert-manager-cainjector', 'cert-manager-acmesolver', 'pebble', 'pebble-challtestsrv', 'prometheus-operator', 'prometheus-config-reloader', 'prometheus'];
  for (const c of components) {
    const bin = execFileSync('bash', [join(ROOT, 'scripts/cluster/build.sh'), `--print-bin=${c}`], { encoding: 'utf8' }).trim();
    const dir = bin.split('/').slice(-2, -1)[0];
    out.add(`stackport.local/${c}:${dir.slice(c.length + 1)}`);
  }
  return out;
}

describe('scripts/edge/manifests', () => {
  it('has the four installs the runtime edge test applies', () => {
    expect(MANIFESTS.sort()).toEqual(['cert-manager', 'monitoring', 'pebble', 'traefik']);
  });

  it('refuses an unknown placeholder, naming it', () => {
    expect(() => edgeManifest('pebble')).toThrow(/placeholder \$\{EDGE_ADDRESS\} is in neither/);
  });

  it.each(MANIFESTS)('%s: images are the edge builds, never pulled, and pods are restricted', (name) => {
    const images = builtImages();
    const objects = docs(name);
    expect(objects.length).toBeGreaterThan(0);
    const pods = objects.flatMap((o) => {
      if (o.kind === 'Deployment') return [o.spec.template.spec];
      if (o.kind === 'Prometheus') return [{ ...o.spec, containers: [{ name: 'prometheus', image: o.spec.image, imagePullPolicy: o.spec.imagePullPolicy }] }];
      return [];
    });
    expect(pods.length).toBeGreaterThan(0);
    for (const pod of pods) {
      expect(pod.securityContext?.runAsNonRoot, name).toBe(true);
      expect(pod.securityContext?.seccompProfile?.type, name).toBe('RuntimeDefault');
      for (const c of pod.containers) {
        expect(images.has(c.image), `${name}/${c.name}: ${c.image} is not an edge image`).toBe(true);
        expect(c.imagePullPolicy, `${name}/${c.name}`).toBe('Never');
        if (name === 'monitoring' && c.name === 'prometheus') continue; // the CR's image: the operator writes that container
        expect(c.securityContext?.allowPrivilegeEscalation, `${name}/${c.name}`).toBe(false);
        expect(c.securityContext?.capabilities?.drop, `${name}/${c.name}`).toEqual(['ALL']);
      }
    }
  });

  it('gives Traefik the fixed address Gateways report', () => {
    const objects = docs('traefik');
    expect(objects.find((o) => o.kind === 'Service').spec.clusterIP).toBe('10.96.0.80');
    expect(objects.find((o) => o.kind === 'Deployment').spec.template.spec.containers[0].args).toContain('--providers.kubernetesgateway.statusaddress.ip=10.96.0.80');
  });
});
