/**
 * Dotted release versions (v1.21.2, 0.94.1, 27.3.1-rc1) as the tools and add-ons print them, compared
 * numerically: "1.10" is newer than "1.9".
 */

/** The first `major.minor[.patch]` in `text`, without a leading "v"; undefined when there is none. */
export function findVersion(text: string): string | undefined {
  return /(\d+)\.(\d+)(?:\.(\d+))?/.exec(text)?.slice(1, 4).map((n) => n ?? '0').join('.');
}

/** Negative when a is older than b, 0 when equal, positive when newer (missing parts count as 0). */
export function compareVersions(a: string, b: string): number {
  const pa = parts(a);
  const pb = parts(b);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i] - pb[i];
  return 0;
}

function parts(v: string): number[] {
  const found = findVersion(v);
  if (!found) throw new Error(`"${v}" is not a version (expected major.minor.patch, e.g. v1.21.2)`);
  return found.split('.').map(Number);
}

/** `v`-prefixed, as the add-ons' own tags are written. */
export function withV(v: string): string {
  return v.startsWith('v') ? v : `v${v}`;
}
