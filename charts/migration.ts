import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import type { JobComponent } from '../spec/schema';
import type { Resolved, ResolvedStack } from '../spec/presets';
import { labelsFor, meta } from './labels';
import { addMounts } from './mounts';
import { podTemplate } from './pod';
import { waitForJobs, waitForServers } from './waits';
import { appContainer } from './workload';

/** Label of Jobs that scripts/apply.sh deletes before applying, because their template is immutable. */
export const REPLACE_ON_APPLY = 'stackport.dev/replace-on-apply';

export interface MigrationProps {
  readonly stack: ResolvedStack;
  readonly component: Resolved<JobComponent>;
}

/**
 * A one-off Job, by default `alembic upgrade head`. It waits for the servers it uses (waits.ts) and
 * retries a failed attempt in the same pod. It is idempotent, so running it again is
 * harmless: the finished Job is deleted after `ttlSecondsAfterFinished`, and the next apply runs it
 * again. Consumers do not watch the Job; they wait on its completion check (see workload.ts), which
 * also covers a migration applied by hand. `scripts/apply.sh` deletes the Job before applying so a
 * changed image replaces it (a Job's pod template is immutable).
 */
export class Migration extends Construct {
  readonly job: k8s.KubeJob;

  constructor(scope: Construct, id: string, props: MigrationProps) {
    super(scope, id);
    const { stack, component: c } = props;
    const labels = labelsFor(stack, c.name, 'migration', c.image);
    const mounts = addMounts(this, stack, c, labels);
    this.job = new k8s.KubeJob(this, 'job', {
      metadata: meta(stack, c.name, { ...labels, [REPLACE_ON_APPLY]: 'true' }),
      spec: {
        backoffLimit: c.backoffLimit ?? 3,
        activeDeadlineSeconds: c.activeDeadlineSeconds ?? 600,
        ttlSecondsAfterFinished: c.ttlSecondsAfterFinished ?? 3600,
        template: podTemplate({
          labels,
          containers: [appContainer(stack, c, { volumeMounts: mounts.volumeMounts })],
          volumes: mounts.volumes,
          initContainers: [...waitForServers(stack, c), ...waitForJobs(stack, c)],
          writablePaths: c.writablePaths,
          uid: c.runAsUser,
          imagePullPolicy: stack.imagePullPolicy,
          // A failed attempt restarts in the same pod, whose network is programmed by then (see waits.ts).
          restartPolicy: 'OnFailure',
        }),
      },
    });
  }
}
