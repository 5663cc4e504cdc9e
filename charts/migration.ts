import { createHash } from 'node:crypto';
import { Construct } from 'constructs';
import { k8s } from './k8s';
import type { JobComponent } from '../model/schema';
import type { Resolved, ResolvedStack } from '../model/presets';
import { labelsFor, meta } from './labels';
import { addMounts } from './mounts';
import { podTemplate } from './pod';
import { waitForJobs, waitForServers } from './waits';
import { appContainer } from './workload';

/** Label of run-once Jobs named per release; its value is the component. Apply prunes earlier releases' Jobs by it. */
export const RELEASE_JOB = 'stackport.dev/release-job';

export interface MigrationProps {
  readonly stack: ResolvedStack;
  readonly component: Resolved<JobComponent>;
}

/**
 * A one-off Job, by default `alembic upgrade head`, named after its component and a hash of its
 * spec (image, command, settings): a new release is a new Job, and applying an unchanged one finds
 * the finished Job and runs nothing. That is what `kubectl apply -k`, Argo CD and Flux need, since a
 * Job's pod template is immutable; no hand-run delete, no TTL that makes a GitOps tool re-create it.
 * It waits for the servers it uses and retries a failed attempt in the same pod (waits.ts), and it
 * must be idempotent. Consumers wait on its completion check (waits.ts), not on the Job object, so a
 * migration applied by hand counts too.
 */
export class Migration extends Construct {
  readonly job: k8s.KubeJob;

  constructor(scope: Construct, id: string, props: MigrationProps) {
    super(scope, id);
    const { stack, component: c } = props;
    const labels = labelsFor(stack, c.name, 'migration', c.image);
    const mounts = addMounts(this, stack, c, labels);
    const spec: k8s.JobSpec = {
      backoffLimit: c.backoffLimit ?? 3,
      activeDeadlineSeconds: c.activeDeadlineSeconds ?? 600,
      ttlSecondsAfterFinished: c.ttlSecondsAfterFinished,
      template: podTemplate({
        labels,
        containers: [appContainer(stack, c, { volumeMounts: mounts.volumeMounts })],
        volumes: mounts.volumes,
        initContainers: [...waitForServers(stack, c), ...waitForJobs(stack, c), ...mounts.initContainers],
        writablePaths: c.writablePaths,
        uid: c.runAsUser,
        pull: stack,
        // A failed attempt restarts in the same pod, whose network is programmed by then (see waits.ts).
        restartPolicy: 'OnFailure',
      }),
    };
    this.job = new k8s.KubeJob(this, 'job', { metadata: meta(stack, releaseJobName(c.name, spec), { ...labels, [RELEASE_JOB]: c.name }), spec });
  }
}

/** `<component>-<8 hex of the spec's hash>`, at most 63 characters. */
export function releaseJobName(component: string, spec: k8s.JobSpec): string {
  const hash = createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 8);
  return `${component.slice(0, 54).replace(/-+$/, '')}-${hash}`;
}
