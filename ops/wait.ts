/**
 * Waiting for a stack to come up, with one line per workload kept current on a terminal (a new line
 * per change when the output is a file or a CI log), stopping at the first hopeless state with its
 * reason, its fix and the last log lines that explain it.
 */
import { createLogUpdate } from 'log-update';
import type { StackClient } from './client';
import { diagnose, type DiagnoseContext, type Workload, type WorkloadState } from './diagnose';
import { OpsError } from './exec';

export interface WaitOptions {
  readonly client: StackClient;
  readonly namespace: string;
  readonly selector: string;
  readonly workloads: readonly Workload[];
  readonly timeoutMs: number;
  /** When the deploy started: older events are not this deploy's. */
  readonly since: number;
  readonly loadImage?: DiagnoseContext['loadImage'];
  /** @default process.stderr */
  readonly out?: NodeJS.WriteStream;
  readonly pollMs?: number;
}

/** One display line per workload. */
export function progressLine(s: WorkloadState, width: number): string {
  const mark = s.up ? 'ok' : s.hopeless ? '!!' : '..';
  return `  ${mark} ${s.workload.component.padEnd(width)}  ${s.workload.kind.padEnd(11)}  ${s.ready.padEnd(9)}  ${s.up ? (s.workload.kind === 'CronJob' ? s.detail : '') : s.detail}`.trimEnd();
}

/** Resolves with the final states when every workload is up; throws an OpsError when one cannot be. */
export async function waitForStack(o: WaitOptions): Promise<WorkloadState[]> {
  const out = o.out ?? process.stderr;
  const tty = Boolean(out.isTTY) && process.env.TERM !== 'dumb';
  const render = tty ? createLogUpdate(out) : undefined;
  const width = Math.max(...o.workloads.map((w) => w.component.length), 9);
  const t0 = Date.now();
  const printed = new Map<string, string>();
  let states: WorkloadState[] = [];
  try {
    for (;;) {
      const snapshot = await o.client.snapshot(o.namespace, o.selector);
      states = diagnose(o.workloads, snapshot, { since: o.since, now: Date.now(), loadImage: o.loadImage });
      const lines = states.map((s) => progressLine(s, width));
      const elapsed = Math.round((Date.now() - t0) / 1000);
      if (render) render(`${lines.join('\n')}\n  ${states.filter((s) => s.up).length}/${states.length} up, ${elapsed}s`);
      else {
        states.forEach((s, i) => {
          const key = `${s.workload.kind}/${s.workload.name}`;
          if (printed.get(key) !== lines[i]) out.write(`${lines[i]}\n`);
          printed.set(key, lines[i]);
        });
      }
      const stuck = states.find((s) => s.hopeless);
      if (stuck?.hopeless) {
        const h = stuck.hopeless;
        const logs = h.logsOf ? await o.client.logTail(o.namespace, h.logsOf.pod, h.logsOf.container, 15, h.logsOf.previous) : '';
        throw new OpsError(`${stuck.workload.component} cannot come up: ${h.reason}\n  fix: ${h.fix}${logs.trim() ? `\n  last log lines of ${h.logsOf!.pod}/${h.logsOf!.container}:\n${indent(logs)}` : ''}`);
      }
      if (states.every((s) => s.up)) return states;
      if (Date.now() - t0 > o.timeoutMs) {
        const late = states.filter((s) => !s.up).map((s) => `  ${s.workload.component} (${s.workload.kind}): ${s.detail}`);
        throw new OpsError(`not up after ${Math.round(o.timeoutMs / 1000)}s:\n${late.join('\n')}\n  fix: stackport status and stackport logs COMPONENT show more; run stackport up again to keep waiting (--timeout SECONDS)`);
      }
      await new Promise((r) => setTimeout(r, o.pollMs ?? 1500));
    }
  } finally {
    // The last frame stays on the terminal, above whatever is printed next.
    render?.done();
  }
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
