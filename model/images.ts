/**
 * Images chosen at synth time by a release pipeline (`--image api=ghcr.io/acme/api@sha256:…`), so a
 * new build does not mean editing the spec. An override wins over the spec and every environment.
 */
import { SpecError, type SpecIssue } from './errors';
import { image } from './fields';
import type { StackSpec } from './schema';
import { isExternal } from './relations';

/** Parses repeated `COMPONENT=REF` arguments and applies them; every problem is reported at once. */
export function withImages(spec: StackSpec, overrides: readonly string[], source = '--image'): StackSpec {
  if (overrides.length === 0) return spec;
  const issues: SpecIssue[] = [];
  const images = new Map<string, string>();
  for (const [i, arg] of overrides.entries()) {
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : '';
    const ref = eq > 0 ? arg.slice(eq + 1) : '';
    const at = [source, i];
    if (!name || !ref) {
      issues.push({ path: at, message: `"${arg}" must be COMPONENT=IMAGE, e.g. api=ghcr.io/acme/api:1.5.0` });
      continue;
    }
    const c = spec.components[name];
    if (!c) {
      issues.push({ path: at, message: `no component "${name}" (the spec has ${Object.keys(spec.components).join(', ')})` });
      continue;
    }
    if (isExternal(c)) {
      issues.push({ path: at, message: `"${name}" is an external server: nothing runs its image` });
      continue;
    }
    const checked = image.safeParse(ref);
    if (!checked.success) {
      issues.push({ path: at, message: `${name}=${ref}: ${checked.error.issues[0].message}` });
      continue;
    }
    if (images.has(name)) issues.push({ path: at, message: `"${name}" is given twice` });
    images.set(name, ref);
  }
  if (issues.length > 0) throw new SpecError(source, issues);

  const components = Object.fromEntries(Object.entries(spec.components).map(([n, c]) => [n, images.has(n) ? { ...c, image: images.get(n)! } : c]));
  const environments = Object.fromEntries(
    Object.entries(spec.environments ?? {}).map(([env, o]) => [
      env,
      o?.components
        ? { ...o, components: Object.fromEntries(Object.entries(o.components).map(([n, co]) => [n, images.has(n) ? { ...co, image: undefined } : co])) }
        : o,
    ]),
  );
  return { ...spec, components, environments: spec.environments ? environments : undefined } as StackSpec;
}
