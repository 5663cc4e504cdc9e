import { Construct } from 'constructs';
import { Certificate, CertificateSpecPrivateKeyAlgorithm, ClusterIssuer } from '../imports/cert-manager.io';
import type { ResolvedStack } from '../model/presets';
import type { ResolvedEdge } from '../model/edge';
import { MANAGED_BY } from './labels';

/** Names shared by every stack on a cluster: one local CA per laptop cluster, not one per stack. */
export const LOCAL_CA = {
  selfSignedIssuer: 'stackport-selfsigned',
  issuer: 'stackport-local-ca',
  certificate: 'stackport-local-ca',
  secret: 'stackport-local-ca',
  /** A ClusterIssuer reads its CA secret from cert-manager's own namespace. */
  namespace: 'cert-manager',
};

export interface CertificatesProps {
  readonly stack: ResolvedStack;
  readonly edge: ResolvedEdge;
  /** The Gateway whose `http` listener serves ACME HTTP-01 challenges (gateway mode). */
  readonly gatewayName?: string;
}

/**
 * The issuer chain and the stack's certificate, as explicit objects (no ingress-shim annotations),
 * so everything is visible in dist/. Locally: a self-signed ClusterIssuer signs a CA certificate,
 * and a CA ClusterIssuer built from it signs the stack's certificate; trust the CA once
 * (see README) and every stack on the cluster is trusted. Production: an ACME ClusterIssuer solving
 * HTTP-01 through the stack's own Gateway or IngressClass.
 */
export class Certificates extends Construct {
  readonly certificate: Certificate;
  readonly issuerName: string;

  constructor(scope: Construct, id: string, props: CertificatesProps) {
    super(scope, id);
    const { stack, edge } = props;
    const labels = { 'app.kubernetes.io/part-of': stack.name, 'app.kubernetes.io/managed-by': MANAGED_BY };

    if (edge.tls.issuer === 'local-ca') {
      new ClusterIssuer(this, 'selfsigned', { metadata: { name: LOCAL_CA.selfSignedIssuer, labels }, spec: { selfSigned: {} } });
      new Certificate(this, 'ca', {
        metadata: { name: LOCAL_CA.certificate, namespace: LOCAL_CA.namespace, labels },
        spec: {
          isCa: true,
          commonName: 'stackport local CA',
          secretName: LOCAL_CA.secret,
          duration: '87600h',
          privateKey: { algorithm: CertificateSpecPrivateKeyAlgorithm.ECDSA, size: 256 },
          issuerRef: { name: LOCAL_CA.selfSignedIssuer, kind: 'ClusterIssuer', group: 'cert-manager.io' },
        },
      });
      new ClusterIssuer(this, 'ca-issuer', { metadata: { name: LOCAL_CA.issuer, labels }, spec: { ca: { secretName: LOCAL_CA.secret } } });
      this.issuerName = LOCAL_CA.issuer;
    } else {
      this.issuerName = `${stack.name}-acme`;
      const solver =
        edge.mode === 'gateway'
          ? { http01: { gatewayHttpRoute: { parentRefs: [{ name: props.gatewayName!, namespace: stack.namespace, kind: 'Gateway', sectionName: 'http' }] } } }
          : { http01: { ingress: { ingressClassName: edge.className } } };
      new ClusterIssuer(this, 'acme', {
        metadata: { name: this.issuerName, labels },
        spec: {
          acme: {
            server: edge.tls.server,
            caBundle: edge.tls.caBundle ? Buffer.from(`${edge.tls.caBundle.trim()}\n`).toString('base64') : undefined,
            email: edge.tls.email,
            privateKeySecretRef: { name: `${stack.name}-acme-account` },
            solvers: [solver],
          },
        },
      });
    }

    this.certificate = new Certificate(this, 'certificate', {
      metadata: { name: edge.tls.secretName, namespace: stack.namespace, labels },
      spec: {
        secretName: edge.tls.secretName,
        dnsNames: [...edge.hosts],
        privateKey: { algorithm: CertificateSpecPrivateKeyAlgorithm.ECDSA, size: 256, rotationPolicy: undefined },
        issuerRef: { name: this.issuerName, kind: 'ClusterIssuer', group: 'cert-manager.io' },
      },
    });
  }
}
