/** One problem in a spec: where it is and what was expected. */
export interface SpecIssue {
  /** Field path inside the spec, e.g. ["components", "api", "port"]. */
  readonly path: readonly (string | number)[];
  readonly message: string;
  /** "line:column" in the source file, when the spec came from a file. */
  readonly location?: string;
}

/** Thrown for any invalid spec; the message lists every issue with its file and field path. */
export class SpecError extends Error {
  constructor(
    readonly source: string,
    readonly issues: readonly SpecIssue[],
  ) {
    super(formatIssues(source, issues));
    this.name = 'SpecError';
  }
}

export function formatPath(path: readonly (string | number)[]): string {
  if (path.length === 0) return '(root)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

function formatIssues(source: string, issues: readonly SpecIssue[]): string {
  const lines = issues.map((i) => `  - ${source}${i.location ? `:${i.location}` : ''}: ${formatPath(i.path)}: ${i.message}`);
  return `Invalid stack spec in ${source} (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${lines.join('\n')}`;
}

/** A SpecError as the CLI prints it: one problem on one line, several under a heading. */
export function describeSpecError(e: SpecError): string {
  if (e.issues.length !== 1) return e.message;
  const i = e.issues[0];
  return `${e.source}${i.location ? `:${i.location}` : ''}: ${i.path.length ? `${formatPath(i.path)}: ` : ''}${i.message}`;
}
