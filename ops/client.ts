/**
 * The Kubernetes client (@kubernetes/client-node) for what the laptop commands read: one snapshot of
 * a stack's workloads, pods, claims and events, and container logs. Reading goes through the client,
 * not kubectl's text; changing things (apply, exec, port-forward) goes through kubectl, which users
 * can run themselves from the commands printed.
 */
import { AppsV1Api, BatchV1Api, CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { OpsError } from './exec';

/** What the progress display and `status` read, all from one namespace. */
export interface Snapshot {
  readonly deployments: any[];
  /** Tell a Deployment's current pods from those of its earlier revisions. Optional in fixtures. */
  readonly replicaSets?: any[];
  readonly statefulSets: any[];
  readonly jobs: any[];
  readonly cronJobs: any[];
  readonly pods: V1Pod[];
  readonly claims: any[];
  readonly events: any[];
}

export class StackClient {
  private readonly core: CoreV1Api;
  private readonly apps: AppsV1Api;
  private readonly batch: BatchV1Api;

  constructor(context: string, kubeconfig?: string) {
    const kc = new KubeConfig();
    try {
      if (kubeconfig) kc.loadFromFile(kubeconfig);
      else kc.loadFromDefault();
    } catch (e) {
      throw new OpsError(`cannot read the kubeconfig ${kubeconfig ?? process.env.KUBECONFIG ?? '~/.kube/config'}: ${(e as Error).message}`);
    }
    if (!kc.getContextObject(context)) {
      throw new OpsError(`the kubeconfig has no context "${context}" (it has: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'})`);
    }
    kc.setCurrentContext(context);
    this.core = kc.makeApiClient(CoreV1Api);
    this.apps = kc.makeApiClient(AppsV1Api);
    this.batch = kc.makeApiClient(BatchV1Api);
  }

  /** The namespace's workloads, pods, claims and events (events: all, the caller filters by time). */
  async snapshot(namespace: string, labelSelector: string): Promise<Snapshot> {
    const q = { namespace, labelSelector };
    const [deployments, replicaSets, statefulSets, jobs, cronJobs, pods, claims, events] = await Promise.all([
      this.apps.listNamespacedDeployment(q),
      this.apps.listNamespacedReplicaSet(q),
      this.apps.listNamespacedStatefulSet(q),
      this.batch.listNamespacedJob(q),
      this.batch.listNamespacedCronJob(q),
      this.core.listNamespacedPod(q),
      this.core.listNamespacedPersistentVolumeClaim({ namespace }),
      this.core.listNamespacedEvent({ namespace }),
    ]).catch((e) => {
      throw apiError(e, `reading namespace ${namespace}`);
    });
    return {
      deployments: deployments.items,
      replicaSets: replicaSets.items,
      statefulSets: statefulSets.items,
      jobs: jobs.items,
      cronJobs: cronJobs.items,
      pods: pods.items,
      claims: claims.items,
      events: events.items,
    };
  }

  /** The last `tail` lines of a container's log ('' when there is none yet). */
  async logTail(namespace: string, pod: string, container: string, tail: number, previous = false): Promise<string> {
    try {
      return (await this.core.readNamespacedPodLog({ namespace, name: pod, container, tailLines: tail, previous })) ?? '';
    } catch {
      return '';
    }
  }
}

/** An API error as one line: the status and the server's message, not the client's object dump. */
export function apiError(e: unknown, doing: string): OpsError {
  const err = e as { code?: number; body?: string; message?: string; cause?: { code?: string } };
  let message = err.message ?? String(e);
  try {
    message = JSON.parse(err.body ?? '').message ?? message;
  } catch {
    // not a Kubernetes Status body
  }
  const unreachable = /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT/.test(`${err.cause?.code ?? ''} ${message}`);
  return new OpsError(`${doing}: ${unreachable ? `the cluster does not answer (${message.split('\n')[0]}); is it running?` : message.split('\n')[0]}`);
}
