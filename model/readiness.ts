/**
 * What a non-local environment (prod) needs before it can be synthesized, checked in one pass so
 * the user reads every missing piece in one message: a public host and a GatewayClass/IngressClass
 * when something is routed, and pinned images. Local presets run whatever the spec names (an
 * imported stack keeps its compose images as written), so these checks live here, not in the schema.
 */
import type { SpecIssue } from './errors';
import { pinnedImage } from './fields';
import type { Component, EnvironmentName, StackSpec } from './schema';

export function readinessIssues(spec: StackSpec, effective: Record<string, Component>, environment: EnvironmentName, preset: { className?: string }): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const env = spec.environments?.[environment];
  const routed = Object.values(effective).some((c) => c.kind === 'web' && (c.routes !== undefined || c.route !== false));
  if (routed) {
    const host = env?.edge?.host ?? spec.edge?.host;
    const className = env?.edge?.className ?? spec.edge?.className ?? preset.className;
    if (!host) issues.push({ path: ['environments', environment, 'edge', 'host'], message: `is required for ${environment}: the public host name of the stack` });
    if (!className) issues.push({ path: ['environments', environment, 'edge', 'className'], message: `is required for ${environment}: the GatewayClass (or IngressClass) of the cluster` });
  }
  for (const [name, c] of Object.entries(effective)) {
    const image = 'image' in c ? c.image : undefined;
    if (image === undefined || pinnedImage(image)) continue;
    const overridden = env?.components?.[name]?.image !== undefined;
    issues.push({
      path: overridden ? ['environments', environment, 'components', name, 'image'] : ['components', name, 'image'],
      message: `"${image}" has no pinned tag or digest; ${environment} needs one (pin it here, or set environments.${environment}.components.${name}.image)`,
    });
  }
  for (const [name, v] of Object.entries(spec.volumes ?? {})) {
    if (v.seed && !pinnedImage(v.seed.image)) issues.push({ path: ['volumes', name, 'seed', 'image'], message: `"${v.seed.image}" has no pinned tag or digest; ${environment} needs one` });
  }
  return issues;
}
