import { Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import type { ResolvedStack } from '../model/presets';
import type { Component } from '../model/schema';
import type { Resolved } from '../model/presets';
import { Edge } from './edge';
import { ExternalSecrets } from './external-secrets';
import { Migration } from './migration';
import { Monitoring } from './monitoring';
import { NetworkPolicies } from './network-policies';
import { applyPolicyExceptions } from './policy';
import { StackNamespace } from './namespace';
import { Pgadmin } from './pgadmin';
import { Postgres } from './postgres';
import { PostgresBackup } from './postgres-backup';
import { Redis } from './redis';
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
  constructor(scope: Construct, id: string, props: StackChartProps) {
    super(scope, id, { disableResourceNameHashes: true });
    const { stack } = props;
    new StackNamespace(this, 'namespace', { stack });
    new SharedData(this, 'shared', { stack });
    new ExternalSecrets(this, 'secrets', { stack });
    for (const component of Object.values(stack.components)) addComponent(this, stack, component);
    new NetworkPolicies(this, 'network', { stack });
    if (stack.edge) new Edge(this, 'edge', { stack, edge: stack.edge });
    if (stack.monitoring) new Monitoring(this, 'monitoring', { stack, monitoring: stack.monitoring });
    applyPolicyExceptions(this, stack);
  }
}

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
