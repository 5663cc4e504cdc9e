/** The standard `app.kubernetes.io/*` labels, and selectors that stay stable across releases. */
import type { ResolvedStack } from '../model/presets';

export const MANAGED_BY = 'stackport';

/** Labels for every object of one workload. `instance` equals the object name: one instance per workload, as the recommended labels mean it. */
export function labelsFor(stack: ResolvedStack, name: string, component: string, image?: string): Record<string, string> {
  const labels: Record<string, string> = {
    'app.kubernetes.io/name': name,
    'app.kubernetes.io/instance': name,
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/part-of': stack.name,
    'app.kubernetes.io/managed-by': MANAGED_BY,
    'stackport.dev/environment': stack.environment,
  };
  const version = image ? versionOf(image) : undefined;
  if (version) labels['app.kubernetes.io/version'] = version;
  return labels;
}

/** The immutable subset used in selectors: never the version, which changes on every release. */
export function selectorFor(stack: ResolvedStack, name: string): Record<string, string> {
  return { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': stack.name };
}

/** The tag of an image reference, made a valid label value. */
export function versionOf(image: string): string | undefined {
  const withoutDigest = image.split('@')[0];
  const lastSegment = withoutDigest.slice(withoutDigest.lastIndexOf('/') + 1);
  const tag = lastSegment.includes(':') ? lastSegment.split(':')[1] : undefined;
  return tag?.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 63);
}

export function meta(stack: ResolvedStack, name: string, labels: Record<string, string>, annotations?: Record<string, string>) {
  return { name, namespace: stack.namespace, labels, annotations };
}
