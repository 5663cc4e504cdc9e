/**
 * `stackport status`: one table of the stack as the cluster runs it (component, kind, ready,
 * restarts, age, URL, last run for CronJobs), read from the cluster rather than from the spec, so it
 * shows what is really there, and any hopeless state with its reason.
 */
import { RELEASE_JOB } from '../charts/migration';
import type { ResolvedStack } from '../model/presets';
import type { Snapshot } from './client';
import { diagnose, type Workload, type WorkloadState } from './diagnose';

/** The stack's workloads on the cluster: release Jobs only (not the runs a CronJob started). */
export function liveWorkloads(s: Snapshot): Workload[] {
  const named = (kind: Workload['kind'], items: any[]) => items.map((o) => ({ kind, name: o.metadata.name, component: o.metadata.labels?.['app.kubernetes.io/name'] ?? o.metadata.name }));
  return [
    ...named('Deployment', s.deployments),
    ...named('StatefulSet', s.statefulSets),
    ...named('CronJob', s.cronJobs),
    ...named('Job', s.jobs.filter((j) => j.metadata?.labels?.[RELEASE_JOB])),
  ].sort((a, b) => a.component.localeCompare(b.component) || a.kind.localeCompare(b.kind));
}

export function age(since: string | Date | undefined, now: number): string {
  if (!since) return '-';
  const s = Math.max(0, Math.round((now - new Date(since).getTime()) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

/** The URL column: the public route, or how to reach a component that has none. */
export function urlOf(stack: ResolvedStack, component: string): string {
  const route = stack.edge?.routes.find((r) => r.component === component);
  if (route) return `https://${route.host}${route.path}`;
  const c = stack.components[component];
  if (c?.kind === 'pgadmin' || c?.kind === 'web') return `stackport open ${component}`;
  return '';
}

/** The last run of a CronJob: when, and how it ended. */
function lastRun(cronJob: any, s: Snapshot, now: number): string {
  const runs = s.jobs.filter((j) => (j.metadata?.ownerReferences ?? []).some((r: any) => r.kind === 'CronJob' && r.name === cronJob.metadata.name) || j.metadata?.annotations?.['cronjob.kubernetes.io/instantiate'] === 'manual' && j.metadata?.labels?.['app.kubernetes.io/name'] === cronJob.metadata.labels?.['app.kubernetes.io/name']);
  const last = runs.sort((a, b) => new Date(b.metadata.creationTimestamp).getTime() - new Date(a.metadata.creationTimestamp).getTime())[0];
  if (!last) return 'not run yet';
  const done = (t: string) => (last.status?.conditions ?? []).some((c: any) => c.type === t && c.status === 'True');
  // The pod counts come before the Job's condition: a run that just ended shows its result at once.
  const state = done('Complete') || (last.status?.succeeded ?? 0) > 0 ? 'succeeded' : done('Failed') || (last.status?.failed ?? 0) > 0 ? 'failed' : 'running';
  return `${age(last.metadata.creationTimestamp, now)} ago, ${state}`;
}

export interface StatusRow {
  readonly component: string;
  readonly kind: string;
  readonly ready: string;
  readonly restarts: number;
  readonly age: string;
  readonly url: string;
  readonly lastRun: string;
}

export function statusRows(stack: ResolvedStack, s: Snapshot, now: number): { rows: StatusRow[]; states: WorkloadState[] } {
  const workloads = liveWorkloads(s);
  const states = diagnose(workloads, s, { since: 0, now });
  const rows = states.map((st) => {
    const list = { Deployment: s.deployments, StatefulSet: s.statefulSets, CronJob: s.cronJobs, Job: s.jobs }[st.workload.kind];
    const o = list.find((x) => x.metadata?.name === st.workload.name);
    return {
      component: st.workload.component,
      kind: st.workload.kind,
      ready: st.ready,
      restarts: st.restarts,
      age: age(o?.metadata?.creationTimestamp, now),
      url: urlOf(stack, st.workload.component),
      lastRun: st.workload.kind === 'CronJob' && o ? lastRun(o, s, now) : '',
    };
  });
  return { rows, states };
}

export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [header, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

export function statusTable(rows: readonly StatusRow[]): string {
  return formatTable(
    ['COMPONENT', 'KIND', 'READY', 'RESTARTS', 'AGE', 'URL', 'LAST RUN'],
    rows.map((r) => [r.component, r.kind, r.ready, String(r.restarts), r.age, r.url, r.lastRun]),
  );
}
