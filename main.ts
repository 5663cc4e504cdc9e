/**
 * The cdk8s app: `cdk8s synth` and `npm run synth` run it (compiled, through bin/synth.js). It is
 * `stackport synth` with the same options:
 *
 *   main.ts [--spec stack.yaml] [--env kind|k3d|prod]... [--out dist] [--image COMPONENT=REF]...
 *
 * Without --spec it renders the reference stack; without --env, every environment. cdk8s sets the
 * output folder in CDK8S_OUTDIR.
 */
import { main } from './cli';

main(['synth', ...process.argv.slice(2)], process.env.CDK8S_OUTDIR ?? 'dist').then((code) => {
  process.exitCode = code;
});
