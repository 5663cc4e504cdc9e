/**
 * What web services, workers and jobs share: the application container built from the spec
 * (image, command, derived connection settings, Secrets) and the init containers that hold a pod
 * back until the jobs it waits for (`after`) have done their work.
 */
import type { JobComponent, StatefulComponent, WebComponent, WorkerComponent } from '../spec/schema';
import type { Resolved, ResolvedStack } from '../spec/presets';
import { connectionEnv, type EnvVar } from '../spec/relations';
import type { ContainerProps } from './pod';

type AppComponent = Resolved<WebComponent> | Resolved<WorkerComponent> | Resolved<JobComponent>;

/** Default migration command and its completion check (the database is at alembic's head revision). */
export const ALEMBIC_UPGRADE = ['alembic', 'upgrade', 'head'];
export const ALEMBIC_AT_HEAD = ['sh', '-c', 'test "$(alembic current 2>/dev/null | cut -d" " -f1 | sort)" = "$(alembic heads | cut -d" " -f1 | sort)"'];

/** Every variable of a component: connections first, so its own settings may refer to them as $(VAR). */
export function appEnv(stack: ResolvedStack, c: AppComponent | Resolved<StatefulComponent>): EnvVar[] {
  const out: EnvVar[] = connectionEnv(stack.spec, c.name);
  for (const [name, ref] of Object.entries(c.secretEnv ?? {})) out.push({ name, secret: { name: ref.secret, key: ref.key } });
  for (const [name, value] of Object.entries(c.env ?? {})) out.push({ name, value });
  return out;
}

export function appContainer(stack: ResolvedStack, c: AppComponent, extra: Partial<ContainerProps> = {}): ContainerProps {
  return {
    name: c.name,
    image: c.image,
    command: c.command ?? (c.kind === 'job' && c.args === undefined ? ALEMBIC_UPGRADE : undefined),
    args: c.args,
    env: appEnv(stack, c),
    envFrom: c.envFrom,
    resources: c.resources,
    ...extra,
  };
}

/**
 * One init container per job in `after`: it runs the job's completion check, with the job's image
 * and connection settings, until it succeeds. This reads the state the job produces (e.g. the
 * schema revision) instead of the Job object, so pods need no API access and a re-run is harmless.
 */
export function waitForJobs(stack: ResolvedStack, c: AppComponent): ContainerProps[] {
  return (c.after ?? []).map((jobName) => {
    const job = stack.components[jobName] as Resolved<JobComponent>;
    const check = (job.completionCheck ?? ALEMBIC_AT_HEAD).map(shellQuote).join(' ');
    return {
      name: `wait-for-${jobName}`,
      image: job.image,
      command: ['sh', '-c', `until ${check}; do echo "waiting for ${jobName} to complete"; sleep 5; done`],
      env: appEnv(stack, job),
      resources: stack.preset.resources.wait,
    };
  });
}

/** Whether a Deployment must stop its old pod before starting a new one: a ReadWriteOnce volume may be attached to one node only. */
export function needsRecreate(stack: ResolvedStack, c: AppComponent): boolean {
  return (c.volumes ?? []).some((v) => (stack.spec.volumes?.[v.volume]?.accessMode ?? 'ReadWriteOnce') === 'ReadWriteOnce');
}

export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
