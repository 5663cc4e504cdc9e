/**
 * stackport as a cdk8s construct library:
 *
 *   import { App } from 'cdk8s';
 *   import { defineStack, resolveStack, StackChart } from 'stackport';
 *
 *   const spec = defineStack({ name: 'shop', components: { ... } });
 *   const app = new App();
 *   const chart = new StackChart(app, 'shop', { stack: resolveStack(spec, 'kind') });
 *   // add your own objects to `chart` here
 *   app.synth();
 *
 * The per-component constructs are not exported: each takes the whole resolved stack, so they do
 * not stand on their own yet.
 */
export { defineStack, loadSpecFile, parseSpec, parseSpecYaml } from './model/load';
export { SpecError, type SpecIssue } from './model/errors';
export { withImages } from './model/images';
export { PRESETS, resolveStack, type Preset, type Resolved, type ResolvedStack } from './model/presets';
export { referenceStack } from './model/reference';
export {
  ENVIRONMENTS,
  stackSpec,
  type Component,
  type EnvironmentName,
  type EnvironmentOverride,
  type StackSpec,
  type StackSpecInput,
} from './model/schema';
export { StackChart, type StackChartProps } from './charts/stack';
export { buildManifests, kustomization, synthesize, synthWarnings, type SynthResult } from './charts/synth';
export { toYaml } from './charts/yaml';
