/**
 * Probes from a spec's `probe` setting. One check (HTTP, command or TCP) drives startup and
 * readiness: startup gives the process its start-up allowance, readiness takes a failing pod out of
 * the Service. Liveness, checked half as often, is a TCP connect to the serving port when there is
 * one, so a check that looks at dependencies never restarts every pod at once (kube-score rejects
 * identical readiness and liveness probes for that reason).
 */
import { k8s } from './k8s';
import type { Probe } from '../model/fields';

export interface Probes {
  readonly startupProbe?: k8s.Probe;
  readonly readinessProbe?: k8s.Probe;
  readonly livenessProbe?: k8s.Probe;
}

/** Startup checks run this often, so a fast process is ready soon after it is up. */
const STARTUP_PERIOD = 5;

/**
 * Probes for a container. `http` is the default check (a path on a named port) when the probe
 * names neither a command nor a TCP port; without either, a TCP connect to `fallbackPort`.
 */
export function probesFrom(p: Exclude<Probe, false>, http?: { path: string; port: string }, fallbackPort?: number, livenessPort?: string | number): Probes {
  const action: Pick<k8s.Probe, 'exec' | 'httpGet' | 'tcpSocket'> = p.command
    ? { exec: { command: p.command } }
    : p.tcpPort !== undefined
      ? { tcpSocket: { port: k8s.IntOrString.fromNumber(p.tcpPort) } }
      : http
        ? { httpGet: { path: http.path, port: k8s.IntOrString.fromString(http.port) } }
        : { tcpSocket: { port: k8s.IntOrString.fromNumber(fallbackPort!) } };
  const period = p.periodSeconds ?? 10;
  const timeoutSeconds = p.timeoutSeconds ?? 5;
  const failureThreshold = p.failureThreshold ?? 3;
  return {
    startupProbe: { ...action, periodSeconds: STARTUP_PERIOD, timeoutSeconds, failureThreshold: Math.ceil((p.startupSeconds ?? 120) / STARTUP_PERIOD) },
    readinessProbe: { ...action, periodSeconds: period, timeoutSeconds, failureThreshold },
    livenessProbe: {
      ...(livenessPort !== undefined && !action.tcpSocket
        ? { tcpSocket: { port: typeof livenessPort === 'number' ? k8s.IntOrString.fromNumber(livenessPort) : k8s.IntOrString.fromString(livenessPort) } }
        : action),
      periodSeconds: period * 2,
      timeoutSeconds,
      failureThreshold,
    },
  };
}

/** The probes of a component with an HTTP health endpoint: its `probe` setting if any, else `defaults`. */
export function probesOr(p: Probe | undefined, http: { path: string; port: string } | undefined, defaults: () => Probes, livenessPort?: string): Probes {
  if (p === false) return {};
  if (p === undefined) return defaults();
  return probesFrom(p, http, undefined, livenessPort);
}
