import { describe, expect, it } from 'vitest';
import { referenceStack } from '../../model/reference';
import { find, manifests, manifestsOf } from '../support/manifests';

describe('Certificates', () => {
  it('bootstraps a local CA: self-signed issuer -> CA certificate in cert-manager -> CA issuer -> stack certificate', () => {
    const objs = manifests(undefined, 'kind');
    expect(find(objs, 'ClusterIssuer', 'stackport-selfsigned').spec).toEqual({ selfSigned: {} });
    const ca = find(objs, 'Certificate', 'stackport-local-ca');
    expect(ca.metadata.namespace).toBe('cert-manager');
    expect(ca.spec).toMatchObject({ isCA: true, secretName: 'stackport-local-ca', issuerRef: { kind: 'ClusterIssuer', name: 'stackport-selfsigned' } });
    expect(find(objs, 'ClusterIssuer', 'stackport-local-ca').spec).toEqual({ ca: { secretName: ca.spec.secretName } });
    expect(find(objs, 'Certificate', 'dataplatform-tls').spec.issuerRef).toEqual({ group: 'cert-manager.io', kind: 'ClusterIssuer', name: 'stackport-local-ca' });
  });

  it('uses ACME HTTP-01 through the Gateway http listener in production', () => {
    const objs = manifests(undefined, 'prod');
    const acme = find(objs, 'ClusterIssuer', 'dataplatform-acme').spec.acme;
    expect(acme.server).toBe('https://acme-v02.api.letsencrypt.org/directory');
    expect(acme.email).toBe('platform@example.com');
    expect(acme.solvers).toEqual([{ http01: { gatewayHTTPRoute: { parentRefs: [{ kind: 'Gateway', name: 'dataplatform', namespace: 'dataplatform', sectionName: 'http' }] } } }]);
    expect(find(objs, 'Certificate', 'dataplatform-tls').spec.issuerRef.name).toBe('dataplatform-acme');
    expect(objs.some((o) => o.metadata.name === 'stackport-local-ca')).toBe(false);
  });
});

describe('a private ACME server', () => {
  const PEM = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ\n-----END CERTIFICATE-----';
  const spec = (tls: Record<string, unknown>) => ({ ...referenceStack, environments: { ...referenceStack.environments, prod: { ...referenceStack.environments!.prod, edge: { ...referenceStack.environments!.prod!.edge, tls: { ...referenceStack.environments!.prod!.edge!.tls, ...tls } } } } });

  it('passes caBundle to the ACME issuer, base64 as cert-manager wants it', () => {
    const acme = find(manifestsOf(spec({ server: 'https://pebble.pebble.svc:14000/dir', caBundle: PEM }), 'prod'), 'ClusterIssuer', 'dataplatform-acme').spec.acme;
    expect(acme.server).toBe('https://pebble.pebble.svc:14000/dir');
    expect(Buffer.from(acme.caBundle, 'base64').toString()).toBe(`${PEM}\n`);
  });

  it('has no caBundle unless given', () => {
    expect(find(manifests(undefined, 'prod'), 'ClusterIssuer', 'dataplatform-acme').spec.acme.caBundle).toBeUndefined();
  });

  it('refuses a caBundle that is not PEM certificates, naming the field', () => {
    expect(() => manifestsOf(spec({ caBundle: 'not a certificate' }), 'prod')).toThrow(/environments\.prod\.edge\.tls\.caBundle.*must be PEM certificates/);
  });
});
