/**
 * The first line of an imported `stack.yaml`: a yaml-language-server modeline pointing at the
 * package's JSON Schema, so editors with the YAML extension complete and check the file. The path is
 * relative to the output folder, so it keeps working when the project folder moves as a whole.
 */
import { join, relative, resolve, sep } from 'node:path';
import { packageRoot, SCHEMA_FILE } from '../../model/package-files';

export const SCHEMA_LINE = /^# yaml-language-server: \$schema=(.*)$/m;

/** The modeline for a `stack.yaml` written into `outDir`. */
export function schemaLine(outDir: string, root = packageRoot()): string {
  const path = relative(resolve(outDir), join(root, SCHEMA_FILE)).split(sep).join('/');
  return `# yaml-language-server: $schema=${path}`;
}
