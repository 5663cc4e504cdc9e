import { ApiObject, Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import type { ResolvedStack } from '../model/presets';
import type { Component } from '../model/schema';
import type { Resolved } from '../model/presets';
import { Edge } from './edge';
import { ExternalSecrets } from './external-secrets';
import { Migration } from './migration';
import { Monitoring } from './monitoring';
import { NetworkPolicies } from './network-policies';
import { addPolicyExceptions } from './policy';
import { StackNamespace } from './namespace';
import { Pgadmin } from './pgadmin';
import { Postgres } from './postgres';
import { PostgresBackup } from './postgres-backup';
import { Redis } from './redis';
import { SealedSecrets } from './sealed-secrets';
import { SharedData } from './shared-data';
import { Stateful } from './stateful';
import { WebService } from './web-service';
import { Worker } from './worker';

export interface StackChartProps {
  /** The spec with one environment applied. */
  readonly stack: ResolvedStack;
}

/** One environment of a stack: the namespace, one construct per component, network policies, then the edge and monitoring. */
export class StackChart extends Chart {
  private readonly stack: ResolvedStack;
  /** kind/namespace/name of the objects the stack made; objects a user adds later are left alone. */
  private readonly own: Set<string>;

  constructor(scope: Construct, id: string, props: StackChartProps) {
    super(scope, id, { disableResourceNameHashes: true });
    const { stack } = props;
    this.stack = stack;
    new StackNamespace(this, 'namespace', { stack });
    new SharedData(this, 'shared', { stack });
    new ExternalSecrets(this, 'secrets', { stack });
    if (stack.sealedSecrets) new SealedSecrets(this, 'sealed-secrets', { stack });
    for (const component of Object.values(stack.components)) addComponent(this, stack, component);
    new NetworkPolicies(this, 'network', { stack });
    if (stack.edge) new Edge(this, 'edge', { stack, edge: stack.edge });
    if (stack.monitoring) new Monitoring(this, 'monitoring', { stack, monitoring: stack.monitoring });
    this.own = new Set(this.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject).map((o) => objectKey(o.kind, o.metadata.namespace, o.name)));
  }

  /** The objects in apply order, with the policy exceptions they need (see policy.ts). */
  public override toJson(): any[] {
    const objects = super.toJson();
    addPolicyExceptions(
      objects.filter((o) => this.own.has(objectKey(o.kind, o.metadata.namespace, o.metadata.name))),
      this.stack,
    );
    return objects;
  }
}

const objectKey = (kind: string, namespace: string | undefined, name: string) => `${kind}/${namespace ?? ''}/${name}`;

function addComponent(chart: Chart, stack: ResolvedStack, c: Resolved<Component>): void {
  switch (c.kind) {
    case 'web':
      new WebService(chart, c.name, { stack, component: c });
      return;
    case 'worker':
      new Worker(chart, c.name, { stack, component: c });
      return;
    case 'job':
      new Migration(chart, c.name, { stack, component: c });
      return;
    case 'postgres':
      new Postgres(chart, c.name, { stack, component: c });
      if (c.backup?.enabled && !c.external) new PostgresBackup(chart, `${c.name}-backup`, { stack, component: c });
      return;
    case 'redis':
      new Redis(chart, c.name, { stack, component: c });
      return;
    case 'pgadmin':
      new Pgadmin(chart, c.name, { stack, component: c });
      return;
    case 'stateful':
      new Stateful(chart, c.name, { stack, component: c });
      return;
  }
}
