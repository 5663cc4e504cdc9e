import { Construct } from 'constructs';
import { PodMonitor, PrometheusRule, PrometheusRuleSpecGroupsRulesExpr, ServiceMonitor } from '../imports/monitoring.coreos.com';
import type { ResolvedMonitoring } from '../model/edge';
import type { ResolvedStack } from '../model/presets';
import { MANAGED_BY, selectorFor } from './labels';
import { runNowCommand } from './worker';

export interface MonitoringProps {
  readonly stack: ResolvedStack;
  readonly monitoring: ResolvedMonitoring;
}

interface Rule {
  alert: string;
  expr: string;
  severity: 'critical' | 'warning';
  summary: string;
  description: string;
}

/**
 * What the prometheus-operator needs: a ServiceMonitor for every web service with a metrics path
 * (by Service port name, as the operator requires), a PodMonitor for continuous workers, and a
 * PrometheusRule with the alerts the compose setup wished for. Every object carries the `release`
 * label the Prometheus selects by.
 */
export class Monitoring extends Construct {
  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { stack, monitoring: m } = props;
    const labels = (name: string) => ({ 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': stack.name, 'app.kubernetes.io/managed-by': MANAGED_BY, release: m.release });
    const ns = stack.namespace;

    for (const c of Object.values(stack.components)) {
      if (c.kind === 'web' && c.metricsPath) {
        new ServiceMonitor(this, `sm-${c.name}`, {
          metadata: { name: c.name, namespace: ns, labels: labels(c.name) },
          spec: {
            selector: { matchLabels: selectorFor(stack, c.name) },
            namespaceSelector: { matchNames: [ns] },
            endpoints: [{ port: 'http', path: c.metricsPath, interval: c.metricsInterval ?? m.interval, scrapeTimeout: c.metricsInterval ?? m.interval }],
          },
        });
      }
      if (c.kind === 'worker' && c.mode === 'continuous' && c.metricsPath) {
        new PodMonitor(this, `pm-${c.name}`, {
          metadata: { name: c.name, namespace: ns, labels: labels(c.name) },
          spec: {
            selector: { matchLabels: selectorFor(stack, c.name) },
            namespaceSelector: { matchNames: [ns] },
            podMetricsEndpoints: [{ port: 'health', path: c.metricsPath, interval: c.metricsInterval ?? m.interval }],
          },
        });
      }
    }

    const rules = alertRules(stack, m);
    if (rules.length === 0) return;
    new PrometheusRule(this, 'rules', {
      metadata: { name: `${stack.name}-alerts`, namespace: ns, labels: labels(`${stack.name}-alerts`) },
      spec: {
        groups: [
          {
            name: `${stack.name}.rules`,
            rules: rules.map((r) => ({
              alert: r.alert,
              expr: PrometheusRuleSpecGroupsRulesExpr.fromString(r.expr),
              for: m.alerts.for,
              labels: { severity: r.severity, namespace: ns },
              annotations: { summary: r.summary, description: r.description },
            })),
          },
        ],
      },
    });
  }
}

/** The alert rules; each expression is scoped to the stack's namespace and its component's job. */
export function alertRules(stack: ResolvedStack, m: ResolvedMonitoring): Rule[] {
  const ns = stack.namespace;
  const a = m.alerts;
  const rules: Rule[] = [];
  const pascal = (s: string) => s.replace(/(^|-)([a-z0-9])/g, (_, __, ch: string) => ch.toUpperCase());
  for (const c of Object.values(stack.components)) {
    if (c.kind === 'web' && c.metricsPath) {
      // ServiceMonitor targets get job=<Service name>.
      const sel = `namespace="${ns}", job="${c.name}"`;
      const P = pascal(c.name);
      rules.push({
        alert: `${P}TargetDown`,
        expr: `sum(up{${sel}}) == 0 or absent(up{${sel}})`,
        severity: 'critical',
        summary: `${c.name} is not being scraped or is down`,
        description: `No ${c.name} target in ${ns} has answered Prometheus for ${a.for}.`,
      });
      rules.push({
        alert: `${P}HighErrorRatio`,
        expr: `sum(rate(${a.requestsMetric}{${sel}, ${a.statusLabel}=~"5.."}[5m])) / sum(rate(${a.requestsMetric}{${sel}}[5m])) > ${a.errorRatio}`,
        severity: 'critical',
        summary: `${c.name} answers more than ${a.errorRatio * 100}% of requests with 5xx`,
        description: `{{ $value | humanizePercentage }} of ${c.name} responses in ${ns} are server errors.`,
      });
      rules.push({
        alert: `${P}HighLatencyP95`,
        expr: `histogram_quantile(0.95, sum by (le) (rate(${a.durationMetric}_bucket{${sel}}[5m]))) > ${a.latencyP95Seconds}`,
        severity: 'warning',
        summary: `${c.name} p95 latency above ${a.latencyP95Seconds}s`,
        description: `The 95th percentile of ${c.name} request duration in ${ns} is {{ $value | humanizeDuration }}.`,
      });
    }
    if (c.kind === 'worker' && c.mode !== 'continuous') {
      rules.push({
        alert: `${pascal(c.name)}JobFailed`,
        // kube-state-metrics: Jobs created by the CronJob (and by "run now") are named <cronjob>-<suffix>.
        expr: `max by (job_name) (kube_job_failed{namespace="${ns}", job_name=~"${c.name}-.+", condition="true"}) > 0`,
        severity: 'warning',
        summary: `A ${c.name} run failed`,
        description: `Job {{ $labels.job_name }} in ${ns} failed. Rerun with: ${runNowCommand(stack, c.name)}`,
      });
    }
    if (c.kind === 'postgres' && c.backup?.enabled && !c.external) {
      const cron = `${c.name}-backup`;
      const sel = `namespace="${ns}", cronjob="${cron}"`;
      const last = `kube_cronjob_status_last_successful_time{${sel}}`;
      const age = a.backupMaxAgeHours * 3600;
      rules.push({
        alert: `${pascal(c.name)}BackupTooOld`,
        // Also fires when a CronJob older than the limit has never succeeded, but not right after install.
        expr: `(time() - max(${last}) > ${age}) or (time() - max(kube_cronjob_created{${sel}}) > ${age} unless on() max(${last}))`,
        severity: 'critical',
        summary: `No successful ${c.name} backup for ${a.backupMaxAgeHours}h`,
        description: `The last successful ${cron} run in ${ns} is older than ${a.backupMaxAgeHours} hours.`,
      });
    }
  }
  return rules;
}
