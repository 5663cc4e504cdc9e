/**
 * Synthesizes a stack spec into `dist/<environment>/`. Used by `npm run synth` and `cdk8s synth`.
 *
 *   tsx main.ts [--spec stack.yaml] [--env kind|k3d|prod]... [--out dist] [--image COMPONENT=REF]...
 *
 * Without --spec it renders the reference stack; without --env, every environment.
 */
import { parseArgs } from 'node:util';
import { synthesize } from './charts/synth';
import { printNote, reportUnexpected } from './cli';
import { SpecError } from './model/errors';
import { withImages } from './model/images';
import { loadSpecFile } from './model/load';
import { ENVIRONMENTS, type EnvironmentName } from './model/schema';

function main(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      spec: { type: 'string' },
      env: { type: 'string', multiple: true },
      out: { type: 'string' },
      image: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log('usage: tsx main.ts [--spec stack.yaml] [--env kind|k3d|prod]... [--out dist] [--image COMPONENT=REF]...');
    return 0;
  }
  const environments = (values.env ?? [...ENVIRONMENTS]).flatMap((e) => e.split(','));
  const unknown = environments.filter((e) => !ENVIRONMENTS.includes(e as EnvironmentName));
  if (unknown.length > 0) {
    console.error(`error: --env ${unknown.join(', ')}: expected one of ${ENVIRONMENTS.join(', ')}`);
    return 2;
  }
  const spec = withImages(values.spec ? loadSpecFile(values.spec, { onNote: printNote }) : require('./model/reference').referenceStack, values.image ?? []);
  const outdir = values.out ?? process.env.CDK8S_OUTDIR ?? 'dist';
  for (const r of synthesize(spec, outdir, environments as EnvironmentName[], values.spec)) {
    console.log(`${r.environment.padEnd(5)} ${String(r.objects).padStart(3)} objects  ${r.file}`);
  }
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  if (e instanceof SpecError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    console.error(`error: ${(e as Error).message}`);
    process.exitCode = 1;
  } else {
    process.exitCode = reportUnexpected(e);
  }
}
