/**
 * The imported spec as a `stack.yaml` a person reads and edits: fields in the spec's order, block
 * text for config files, and comments saying where each component came from, which Secrets must
 * exist and what the environments still need.
 */
import { Document, isMap, isScalar, type Pair, parse, visit } from 'yaml';
import type { ComposeService } from '../load/model';
import { providedVariable } from '../../model/relations';
import type { ProvidedSecret } from '../translate/context';

type Obj = Record<string, any>;

export interface WriteInput {
  readonly spec: Obj;
  readonly files: readonly string[];
  readonly secrets: readonly ProvidedSecret[];
  readonly origins: Map<string, ComposeService>;
}

function commentKey(doc: Document, path: string[], comment: string): void {
  const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
  if (!isMap(parent)) return;
  const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === path[path.length - 1]) as Pair | undefined;
  if (pair && isScalar(pair.key)) pair.key.commentBefore = comment;
}

/**
 * True for a string that a YAML 1.1 reader (PyYAML, kubectl, older yq) would take for something
 * else when written plain: `on`, `yes`, `n`, `1_000`, `1:20`, `0b101`. The `yaml` library writes by
 * YAML 1.2, which quotes only what 1.2 would misread.
 */
function misreadByYaml11(value: string): boolean {
  if (!/^[-+.~\w:]+$/.test(value)) return false; // anything else is quoted or unambiguous already
  try {
    return typeof parse(value, { version: '1.1' }) !== 'string';
  } catch {
    return false;
  }
}

export function stackYaml(input: WriteInput): string {
  const { spec, files, secrets, origins } = input;
  const doc = new Document(spec);
  const header = [
    ` Stack spec imported from ${files.join(', ')} by \`stackport import\`. Edit it freely: the fields are`,
    " described in stackport's docs/spec.md, and editors with YAML support complete and check them",
    ' through the schema on the first line. Synthesize with: npx stackport synth --spec stack.yaml --out dist',
  ];
  if (secrets.length > 0) {
    const bySecret = new Map<string, ProvidedSecret[]>();
    for (const s of secrets) bySecret.set(s.secret, [...(bySecret.get(s.secret) ?? []), s]);
    header.push('', ' Secrets to create before applying (no value is written here):');
    for (const [name, keys] of bySecret) {
      header.push(`   ${name}:`);
      for (const k of keys) {
        // Said only where the variable is not simply the key's (an external server's password).
        const variable = providedVariable(k.secret, k.key);
        header.push(`     ${k.key}: from ${k.from}${variable !== providedVariable('', k.key) ? `; the secrets command reads ${variable}` : ''}`);
      }
    }
    header.push(' e.g. KEY=value npm run secrets -- --spec stack.yaml --env kind (keys are read from variables named after them).');
  }
  doc.commentBefore = header.join('\n');
  for (const [name, c] of Object.entries<Obj>(spec.components)) {
    const s = origins.get(name);
    if (s) commentKey(doc, ['components', name], ` compose service "${s.name}"${s.config.image ? ` (${s.config.image})` : ''}${s.job ? ', a compose job' : ''}`);
    else if (c.external) commentKey(doc, ['components', name], ` not a compose service: the ${c.kind === 'postgres' ? 'PostgreSQL' : 'Redis'} server at ${c.external.host} the services connect to, outside the cluster (nothing runs for it)`);
    if (c.kind === 'job' && Array.isArray(c.args) && c.args.length === 0) commentKey(doc, ['components', name, 'args'], ' none: the image runs its own command');
  }
  if (spec.volumes) commentKey(doc, ['volumes'], ' compose named volumes, one PersistentVolumeClaim each');
  if (spec.envFiles) commentKey(doc, ['envFiles'], ' compose env files (secret-looking entries are Secret references instead), one ConfigMap each');
  if (spec.network?.mode === 'stack') commentKey(doc, ['network'], ' the importer cannot see every connection the code makes: every pod may reach every Service port of the stack\n (DNS allowed, the outside denied except egress). Once each component\'s uses lists what it dials, set mode: declared');
  if (spec.monitoring?.enabled === false) commentKey(doc, ['monitoring'], ' the compose project runs no Prometheus; enable this where the cluster runs the prometheus-operator');
  const prod = spec.environments?.prod?.edge;
  if (prod && (!prod.host || !prod.className)) commentKey(doc, ['environments'], ' prod needs edge.host and edge.className (the GatewayClass) before it can be synthesized');
  visit(doc, {
    Scalar(_, node) {
      if (typeof node.value === 'string' && misreadByYaml11(node.value)) node.type = 'QUOTE_DOUBLE';
    },
  });
  return doc.toString({ lineWidth: 0 });
}
