/**
 * A cdk8s app that uses stackport as a library: a stack defined in TypeScript with defineStack(),
 * rendered for one environment by StackChart, and two objects of the app's own in the same chart.
 */
import { App, type AppProps } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { defineStack, resolveStack, StackChart, type EnvironmentName } from 'stackport';

/** Checked when this module loads: a mistake in the stack fails here, naming the field. */
export const shop = defineStack({
  apiVersion: 'stackport.dev/v1alpha1',
  name: 'shop',
  components: {
    api: {
      kind: 'web',
      role: 'api',
      image: 'ghcr.io/acme/shop-api:1.4.2',
      port: 8000,
      healthPath: '/health',
      uses: [{ to: 'db', database: 'shop' }, { to: 'cache' }],
    },
    db: { kind: 'postgres', databases: [{ name: 'shop', owner: 'shop' }] },
    cache: { kind: 'redis' },
  },
  environments: {
    prod: { edge: { host: 'shop.example.com', className: 'eg', tls: { issuer: 'acme', email: 'ops@example.com' } } },
  },
});

export function buildApp(environment: EnvironmentName = 'kind', props: AppProps = {}): App {
  const app = new App(props);
  const stack = resolveStack(shop, environment);
  const chart = new StackChart(app, 'shop', { stack });

  // The app's own objects go into the same chart, namespace and output file.
  new k8s.KubeConfigMap(chart, 'feature-flags', {
    metadata: { name: 'feature-flags', namespace: stack.namespace },
    data: { 'checkout.v2': 'false' },
  });
  // The stack's namespace enforces Pod Security "restricted", so an added pod needs this context.
  new k8s.KubeCronJob(chart, 'nightly-report', {
    metadata: { name: 'nightly-report', namespace: stack.namespace },
    spec: {
      schedule: '30 2 * * *',
      concurrencyPolicy: 'Forbid',
      jobTemplate: {
        spec: {
          template: {
            spec: {
              restartPolicy: 'Never',
              securityContext: { runAsNonRoot: true, runAsUser: 10999, runAsGroup: 10999, seccompProfile: { type: 'RuntimeDefault' } },
              containers: [
                {
                  name: 'report',
                  image: 'ghcr.io/acme/shop-report:1.4.2',
                  securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
                  resources: { requests: { cpu: k8s.Quantity.fromString('50m'), memory: k8s.Quantity.fromString('64Mi') }, limits: { memory: k8s.Quantity.fromString('128Mi') } },
                },
              ],
            },
          },
        },
      },
    },
  });
  return app;
}
