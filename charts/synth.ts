/**
 * Spec -> environments -> charts -> files. Every environment is built and rendered in memory
 * first; only when all succeeded are the files written, into a fresh folder that then replaces
 * `dist/<environment>`, so a failure never leaves half-written output.
 */
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Testing } from 'cdk8s';
import { resolveStack, type ResolvedStack } from '../spec/presets';
import { ENVIRONMENTS, type EnvironmentName, type StackSpec } from '../spec/schema';
import { StackChart } from './stack';
import { toYaml } from './yaml';

/** The objects of one environment, as plain JSON, in apply order. */
export function buildManifests(stack: ResolvedStack): any[] {
  const app = Testing.app();
  const chart = new StackChart(app, stack.name, { stack });
  return chart.toJson();
}

export interface SynthResult {
  readonly environment: EnvironmentName;
  readonly file: string;
  readonly objects: number;
}

/** Renders the given environments of a spec into `<outdir>/<environment>/<stack>.k8s.yaml`. */
export function synthesize(spec: StackSpec, outdir: string, environments: readonly EnvironmentName[] = ENVIRONMENTS, source?: string): SynthResult[] {
  const rendered = environments.map((environment) => {
    const stack = resolveStack(spec, environment, source);
    const objects = buildManifests(stack);
    return { environment, name: stack.name, yaml: toYaml(objects), objects: objects.length };
  });

  mkdirSync(outdir, { recursive: true });
  const staging = join(outdir, `.staging-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  try {
    for (const r of rendered) {
      mkdirSync(join(staging, r.environment), { recursive: true });
      writeFileSync(join(staging, r.environment, `${r.name}.k8s.yaml`), r.yaml);
    }
    for (const r of rendered) {
      const target = join(outdir, r.environment);
      if (existsSync(target)) rmSync(target, { recursive: true, force: true });
      renameSync(join(staging, r.environment), target);
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return rendered.map((r) => ({ environment: r.environment, file: join(outdir, r.environment, `${r.name}.k8s.yaml`), objects: r.objects }));
}
