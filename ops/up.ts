/**
 * `stackport up [kind|k3d|prod]`: from a spec to a stack that answers, in one command.
 *
 *  1. the context (ops/safety.ts): the environment's own cluster, created from a generated config
 *     when it does not exist (ops/cluster.ts), or --context for an existing one (prod: required);
 *  2. the add-ons the environment needs, pinned and idempotent (ops/addons.ts; kind and k3d only);
 *  3. the images of components with a `build` field, built and loaded into the cluster
 *     (ops/images.ts; only into the environment's own cluster, which is the one kind or k3d can load);
 *  4. Secrets, apply with prune, a live wait that stops at the first hopeless state (ops/deploy.ts);
 *  5. where the stack answers and how to trust its certificate.
 */
import { parseArgs } from 'node:util';
import { installAddOns } from './addons';
import { clusterName, ensureCluster, type LocalEnvironment } from './cluster';
import { accessLines, deploy, type DeployOptions } from './deploy';
import { requireTools, type ToolName } from './doctor';
import { OpsError } from './exec';
import { buildAndLoadImages, loadImageCommand, planImageBuilds } from './images';
import { announce, chooseContext, kubeContexts } from './safety';
import { environmentOf, openTarget, readSpec, TARGET_OPTIONS, type Target } from './target';

export interface UpOptions {
  readonly skipAddOns?: readonly string[];
  readonly noAddOns?: boolean;
  readonly deploy?: DeployOptions;
}

export async function upCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...TARGET_OPTIONS,
      image: { type: 'string', multiple: true },
      'skip-missing': { type: 'boolean' },
      'no-addons': { type: 'boolean' },
      'skip-addon': { type: 'string', multiple: true },
      timeout: { type: 'string' },
    },
  });
  if (positionals.length > 1) throw new OpsError(`up: unexpected argument ${positionals[1]}`, 2);
  const environment = environmentOf(values.env ?? positionals[0]);
  const timeout = values.timeout ?? '600';
  if (!/^\d+$/.test(timeout)) throw new OpsError(`--timeout ${timeout}: expected seconds`, 2);
  const { target: t, own } = prepare(values, environment, { skipAddOns: values['skip-addon'], noAddOns: values['no-addons'] });
  const log = (l: string) => process.stderr.write(`${l}\n`);
  await deploy(t, {
    images: values.image,
    skipMissing: values['skip-missing'],
    timeoutMs: Number(timeout) * 1000,
    // Only the own cluster can be loaded into by kind or k3d: elsewhere the fix is a registry.
    loadImage: own ? (image) => loadImageCommand(environment as LocalEnvironment, clusterName(t.spec), image).flat().join(' ') : undefined,
    log,
  });
  console.log(`\n${t.stack.name} is up in namespace ${t.stack.namespace} (context ${t.context}).`);
  for (const l of accessLines(t.stack, t.context)) console.log(l);
  return 0;
}

/** Steps 1 to 3: the cluster, its add-ons and the images; returns the target to deploy to. */
export function prepare(values: { spec?: string; context?: string; kubeconfig?: string }, environment: ReturnType<typeof environmentOf>, o: UpOptions = {}): { target: Target; own: boolean } {
  const log = (l: string) => process.stderr.write(`${l}\n`);
  const loaded = readSpec(values);
  const { spec, specFile, projectDir } = loaded;
  const { context, own } = chooseContext({ env: environment, spec, context: values.context, kubeconfig: values.kubeconfig });
  announce(context);
  const local = environment !== 'prod';
  const create = own && !kubeContexts(values.kubeconfig).includes(context);
  const builds = own ? planImageBuilds(environment as LocalEnvironment, spec, projectDir, { specFile }) : [];
  const addOns = local && !o.noAddOns;
  const tools: ToolName[] = ['kubectl'];
  if (create || builds.length > 0) tools.push('docker', environment as ToolName);
  if (addOns && !o.skipAddOns?.includes('cert-manager')) tools.push('helm');
  requireTools([...new Set(tools)], environment);
  if (create) ensureCluster(environment as LocalEnvironment, spec, { log });
  const t = openTarget(values, environment, { mayCreate: true, quiet: true, loaded });
  if (addOns) installAddOns(environment as LocalEnvironment, t.kubectl, { log, skip: o.skipAddOns });
  if (builds.length > 0) buildAndLoadImages(environment as LocalEnvironment, clusterName(spec), spec, projectDir, { specFile, log });
  else if (!own && Object.values(t.stack.components).some((c) => (c as { build?: unknown }).build)) {
    log(`note: ${context} is not the ${environment} cluster stackport creates, so images with a build field are not loaded: push them to a registry it pulls from`);
  }
  return { target: t, own };
}
