/** Which context a command acts on, against a recording kubectl whose kubeconfig's current context is production. */
import { afterEach, describe, expect, it } from 'vitest';
import { OpsError } from '../../ops/exec';
import { announce, chooseContext } from '../../ops/safety';
import { standIns, type StandIns } from './standins';

let tools: StandIns | undefined;
afterEach(() => {
  tools?.restore();
  tools = undefined;
});

const spec = { name: 'dataplatform' };
const kubeconfig = () =>
  standIns({
    kubectl: [
      { match: '*config get-contexts -o name', stdout: 'prod-eu\nkind-dataplatform\nk3d-dataplatform\n' },
      { match: '*config current-context', stdout: 'prod-eu\n' },
    ],
  });

describe('chooseContext', () => {
  it("defaults to the environment's own cluster, never asking the kubeconfig (whose current context is prod-eu)", () => {
    tools = kubeconfig();
    expect(chooseContext({ env: 'kind', spec })).toEqual({ context: 'kind-dataplatform', own: true });
    expect(chooseContext({ env: 'k3d', spec })).toEqual({ context: 'k3d-dataplatform', own: true });
    expect(tools.commands()).toEqual([]);
  });

  it('refuses prod without --context', () => {
    tools = kubeconfig();
    expect(() => chooseContext({ env: 'prod', spec })).toThrow(new OpsError('prod is never targeted without an explicit --context: pass --context <the production context>', 2));
    expect(tools.commands()).toEqual([]);
  });

  it('takes prod with an explicit --context that the kubeconfig has', () => {
    tools = kubeconfig();
    expect(chooseContext({ env: 'prod', spec, context: 'prod-eu' })).toEqual({ context: 'prod-eu', own: false });
    expect(tools.commands()).toEqual(['kubectl config get-contexts -o name']);
  });

  it('refuses an unknown --context and lists the contexts there are, in the kubeconfig it was given', () => {
    tools = kubeconfig();
    expect(() => chooseContext({ env: 'kind', spec, context: 'kind-typo', kubeconfig: '/home/me/.kube/lab' })).toThrow(
      '--context kind-typo: no such context in /home/me/.kube/lab; the contexts there are: prod-eu, kind-dataplatform, k3d-dataplatform',
    );
    expect(tools.commands()).toEqual(['kubectl --kubeconfig /home/me/.kube/lab config get-contexts -o name']);
  });

  it('a local environment with --context of another cluster acts there, marked as not its own', () => {
    tools = kubeconfig();
    expect(chooseContext({ env: 'kind', spec, context: 'k3d-dataplatform' })).toEqual({ context: 'k3d-dataplatform', own: false });
    expect(chooseContext({ env: 'kind', spec, context: 'kind-dataplatform' })).toEqual({ context: 'kind-dataplatform', own: true });
  });
});

it('announce writes the context first, on its own line', () => {
  const written: string[] = [];
  announce('kind-dataplatform', (s) => written.push(s));
  expect(written).toEqual(['context: kind-dataplatform\n']);
});
