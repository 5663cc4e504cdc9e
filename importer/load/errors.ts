/** One problem in the compose input: the file, where in it, and what is wrong. */
export interface ComposeIssue {
  readonly file: string;
  /** Key path in the file, e.g. ["services", "api", "ports", 0]; [] for the whole file. */
  readonly path: readonly (string | number)[];
  readonly message: string;
  /** "line:column" when known. */
  readonly location?: string;
}

/** Thrown for input the importer cannot translate; the message names file, service and key. */
export class ComposeError extends Error {
  constructor(readonly issues: readonly ComposeIssue[]) {
    super(formatIssues(issues));
    this.name = 'ComposeError';
  }
}

export function formatKeyPath(path: readonly (string | number)[]): string {
  if (path.length === 0) return '(top level)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

function formatIssues(issues: readonly ComposeIssue[]): string {
  const lines = issues.map((i) => `  - ${i.file}${i.location ? `:${i.location}` : ''}: ${i.path.length ? `${formatKeyPath(i.path)}: ` : ''}${i.message}`);
  return `Invalid compose input (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${lines.join('\n')}`;
}

/** Throws a ComposeError with a single issue. */
export function fail(file: string, path: readonly (string | number)[], message: string, location?: string): never {
  throw new ComposeError([{ file, path, message, location }]);
}
