/** `stackport graph`: synthesize one environment in memory and draw it. */
import { buildManifests } from '../charts/synth';
import { resolveStack } from '../model/presets';
import type { EnvironmentName, StackSpec } from '../model/schema';
import { buildGraph } from './model';
import { toDot, toMermaid } from './render';

export { buildGraph, type StackGraph } from './model';
export { toDot, toMermaid } from './render';

/** The Markdown page `stackport import` writes beside stack.yaml: the kind environment's picture. */
export function graphMarkdown(spec: StackSpec, source?: string): string {
  return [
    `# ${spec.name}`,
    '',
    'Components, the flows the NetworkPolicies admit (with their ports), the routes of the edge and',
    'what waits for what, in the kind environment. `stackport graph --env prod` draws another.',
    '',
    '```mermaid',
    graphOf(spec, 'kind', 'mermaid', source).trimEnd(),
    '```',
    '',
  ].join('\n');
}

export function graphOf(spec: StackSpec, environment: EnvironmentName, format: 'mermaid' | 'dot' = 'mermaid', source?: string): string {
  const graph = buildGraph(buildManifests(resolveStack(spec, environment, source)));
  return format === 'dot' ? toDot(graph) : toMermaid(graph);
}
