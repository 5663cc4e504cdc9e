/**
 * The part of `stackport up` that works on any cluster: synthesize the environment (with --image
 * overrides) into <project>/.stackport/dist, create the Secrets, apply and prune (ops/apply.ts), then
 * wait for every workload with a live display and stop at the first hopeless state
 * (ops/wait.ts), and print where the stack answers.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOCAL_CA } from '../charts/certificates';
import { buildManifests, synthWarnings } from '../charts/synth';
import { toYaml } from '../charts/yaml';
import { withImages } from '../model/images';
import { resolveStack, type ResolvedStack } from '../model/presets';
import type { StackSpec } from '../model/schema';
import { applyEnvironment } from './apply';
import { StackClient } from './client';
import type { DiagnoseContext, Workload, WorkloadState } from './diagnose';
import { stackSelector } from './prune';
import type { Target } from './target';
import { waitForStack } from './wait';

export interface DeployOptions {
  /** COMPONENT=REF overrides, as `stackport synth --image`. */
  readonly images?: readonly string[];
  readonly skipMissing?: boolean;
  readonly timeoutMs?: number;
  readonly loadImage?: DiagnoseContext['loadImage'];
  /** Rewrites the synthesized objects before they are applied (the runtime test's stand-ins). */
  readonly transform?: (objects: any[]) => any[];
  readonly log?: (line: string) => void;
}

/** The workloads of a synthesized environment, in output order. */
export function workloadsOf(objects: readonly any[]): Workload[] {
  return objects
    .filter((o) => ['Deployment', 'StatefulSet', 'Job', 'CronJob'].includes(o.kind))
    .map((o) => ({ kind: o.kind, name: o.metadata.name, component: o.metadata.labels?.['app.kubernetes.io/name'] ?? o.metadata.name }));
}

/** The synthesized objects of the target's environment (with `images` applied). */
export function stackObjects(t: Target, images: readonly string[] = []): { spec: StackSpec; stack: ResolvedStack; objects: any[] } {
  const spec = images.length > 0 ? withImages(t.spec, images) : t.spec;
  const stack = resolveStack(spec, t.environment, t.specFile);
  return { spec, stack, objects: buildManifests(stack) };
}

export async function deploy(t: Target, o: DeployOptions = {}): Promise<WorkloadState[]> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const { spec, stack, objects: synthesized } = stackObjects(t, o.images);
  for (const w of synthWarnings(stack)) log(`warning: ${w}`);
  const objects = o.transform ? o.transform(synthesized) : synthesized;
  const dist = join(t.projectDir, '.stackport', 'dist');
  rmSync(join(dist, t.environment), { recursive: true, force: true });
  mkdirSync(join(dist, t.environment), { recursive: true });
  writeFileSync(join(dist, t.environment, `${stack.name}.k8s.yaml`), toYaml(objects));
  const since = Date.now() - 2000;
  const result = applyEnvironment({
    environment: t.environment,
    spec,
    specFile: t.specFile,
    dist,
    secretsFile: join(t.projectDir, '.secrets', `${t.environment}.yaml`),
    context: t.context,
    kubeconfig: t.kubeconfig,
    skipMissing: o.skipMissing,
    log: (l) => log(l.split('\n').map((x) => `  ${x}`).join('\n')),
  });
  if (result.pruned.length > 0) log(`removed (no longer in the spec): ${result.pruned.join(', ')}`);
  log(`waiting for ${stack.name} in namespace ${stack.namespace}:`);
  const client = new StackClient(t.context, t.kubeconfig);
  return waitForStack({ client, namespace: stack.namespace, selector: stackSelector(stack), workloads: workloadsOf(objects), timeoutMs: o.timeoutMs ?? 600_000, since, loadImage: o.loadImage });
}

/** Where the stack answers, and how to trust its certificate: the lines `up` ends with. */
export function accessLines(stack: ResolvedStack, context: string): string[] {
  const lines: string[] = [];
  const edge = stack.edge;
  if (edge) {
    for (const r of edge.routes) lines.push(`  ${r.component.padEnd(12)} https://${r.host}${r.path === '/' ? '/' : r.path}`);
    if (edge.tls.issuer === 'local-ca') {
      lines.push('', 'The certificate comes from the cluster\'s local CA; trust it once (browser or system store), or pass it to curl:');
      lines.push(`  kubectl --context ${context} -n ${LOCAL_CA.namespace} get secret ${LOCAL_CA.secret} -o jsonpath='{.data.ca\\.crt}' | base64 -d > stackport-ca.crt`);
      lines.push(`  curl --cacert stackport-ca.crt https://${edge.host}/`);
    }
    if (stack.environment === 'kind' && edge.mode === 'gateway') {
      lines.push('', 'On Linux the Gateway has an address on the kind network instead of 127.0.0.1:');
      lines.push(`  curl --resolve ${edge.host}:443:$(kubectl --context ${context} -n ${stack.namespace} get gateway ${stack.name} -o jsonpath='{.status.addresses[0].value}') --cacert stackport-ca.crt https://${edge.host}/`);
    }
  }
  const unrouted = Object.entries(stack.components).filter(([name, c]) => c.kind === 'pgadmin' || (c.kind === 'web' && !edge?.routes.some((r) => r.component === name)));
  if (unrouted.length > 0) lines.push('', `Not routed (reach them with stackport open COMPONENT): ${unrouted.map(([n]) => n).join(', ')}`);
  return lines;
}
