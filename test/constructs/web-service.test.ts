import { describe, expect, it } from 'vitest';
import { container, envOf, find, has, manifests, manifestsOf, podSpec } from '../support/manifests';

describe('WebService (api)', () => {
  const kind = manifests(undefined, 'kind');
  const prod = manifests(undefined, 'prod');

  it('probes /health for startup and readiness, and liveness with a different, cheaper check', () => {
    const api = container(find(kind, 'Deployment', 'api'));
    for (const probe of [api.startupProbe, api.readinessProbe]) {
      expect(probe.httpGet).toEqual({ path: '/health', port: 'http' });
    }
    // kube-score: identical readiness and liveness probes restart every pod when a dependency is down.
    expect(api.livenessProbe.tcpSocket).toEqual({ port: 'http' });
    expect(api.livenessProbe.httpGet).toBeUndefined();
    expect(api.ports).toEqual([{ name: 'http', containerPort: 8000, protocol: 'TCP' }]);
    expect(api.livenessProbe.periodSeconds).toBeGreaterThan(api.readinessProbe.periodSeconds);
    expect(api.startupProbe.failureThreshold * api.startupProbe.periodSeconds).toBeGreaterThanOrEqual(60);
  });

  it('drains before shutdown: preStop sleep inside a longer termination grace period', () => {
    const d = find(kind, 'Deployment', 'api');
    expect(container(d).lifecycle.preStop.exec.command).toEqual(['sleep', '5']);
    expect(podSpec(d).terminationGracePeriodSeconds).toBe(35);
  });

  it('rolls out with zero unavailable pods', () => {
    const d = find(kind, 'Deployment', 'api');
    expect(d.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
  });

  it('derives DATABASE_URL and REDIS_URL from its relations, with passwords from Secrets', () => {
    const env = envOf(container(find(kind, 'Deployment', 'api')));
    expect(env.DATABASE_PASSWORD).toEqual({ secretKeyRef: { name: 'postgres-user-app', key: 'password' } });
    expect(env.DATABASE_URL).toBe('postgresql://app:$(DATABASE_PASSWORD)@postgres:5432/app');
    expect(env.REDIS_PASSWORD).toEqual({ secretKeyRef: { name: 'redis-auth', key: 'password' } });
    expect(env.REDIS_URL).toBe('redis://:$(REDIS_PASSWORD)@redis:6379/0');
    // $(VAR) expansion only sees variables defined earlier in the list.
    const names = container(find(kind, 'Deployment', 'api')).env.map((e: any) => e.name);
    expect(names.indexOf('DATABASE_PASSWORD')).toBeLessThan(names.indexOf('DATABASE_URL'));
  });

  it('waits for the migration in an init container that runs the completion check with the same connection', () => {
    const init = container(find(kind, 'Deployment', 'api'), 'wait-for-migrate');
    expect(init.image).toBe('stackport.local/dataplatform-api:0.1.0');
    expect(init.command[2]).toMatch(/until out=\$\(sh -c '[\s\S]*alembic current[\s\S]*alembic heads[\s\S]*' 2>&1\); do/);
    expect(init.command[2]).toContain('gave up after 900s waiting for migrate to complete. Job migrate has not done its work');
    expect(envOf(init).DATABASE_URL).toBe('postgresql://app:$(DATABASE_PASSWORD)@postgres:5432/app');
  });

  it('has one replica and no HPA or PDB on kind', () => {
    expect(find(kind, 'Deployment', 'api').spec.replicas).toBe(1);
    expect(has(kind, 'HorizontalPodAutoscaler', 'api')).toBe(false);
    expect(has(kind, 'PodDisruptionBudget', 'api')).toBe(false);
  });

  it('scales in prod: HPA owns the replica count, PDB keeps one pod up, pods spread over nodes', () => {
    const d = find(prod, 'Deployment', 'api');
    expect(d.spec.replicas).toBeUndefined();
    const hpa = find(prod, 'HorizontalPodAutoscaler', 'api');
    expect(hpa.spec).toMatchObject({ scaleTargetRef: { kind: 'Deployment', name: 'api' }, minReplicas: 2, maxReplicas: 6 });
    expect(hpa.spec.metrics[0].resource.target.averageUtilization).toBe(70);
    const pdb = find(prod, 'PodDisruptionBudget', 'api');
    expect(pdb.spec.maxUnavailable).toBe(1);
    expect(pdb.spec.selector.matchLabels).toEqual(d.spec.selector.matchLabels);
    expect(podSpec(d).topologySpreadConstraints[0].labelSelector.matchLabels).toEqual(d.spec.selector.matchLabels);
  });

  it('has 2 CPU / 2 GiB limits in prod', () => {
    const limits = container(find(prod, 'Deployment', 'api')).resources.limits;
    expect(limits).toMatchObject({ cpu: '2', memory: '2Gi' });
  });

  it('exposes a ClusterIP Service whose selector matches the pods', () => {
    const svc = find(kind, 'Service', 'api');
    const d = find(kind, 'Deployment', 'api');
    expect(svc.spec.ports).toEqual([{ name: 'http', port: 8000, targetPort: 'http', protocol: 'TCP', appProtocol: 'http' }]);
    for (const [k, v] of Object.entries(svc.spec.selector)) expect(d.spec.template.metadata.labels[k]).toBe(v);
  });
});

describe('WebService (dashboard)', () => {
  it('reads both databases with read-only logins and calls the API over its Service', () => {
    const env = envOf(container(find(manifests(), 'Deployment', 'dashboard')));
    expect(env.DATABASE_URL).toBe('postgresql://app_ro:$(DATABASE_PASSWORD)@postgres:5432/app');
    expect(env.DATABASE_PASSWORD.secretKeyRef.name).toBe('postgres-user-app-ro');
    expect(env.FEATURES_DATABASE_URL).toBe('postgresql://features_ro:$(FEATURES_DATABASE_PASSWORD)@postgres:5432/features');
    expect(env.API_URL).toBe('http://api:8000');
  });

  it('is sticky only when there is more than one replica', () => {
    expect(find(manifests(undefined, 'kind'), 'Service', 'dashboard').spec.sessionAffinity).toBe('None');
    const prod = find(manifests(undefined, 'prod'), 'Service', 'dashboard');
    expect(prod.spec.sessionAffinity).toBe('ClientIP');
    expect(prod.spec.sessionAffinityConfig.clientIP.timeoutSeconds).toBe(10800);
    expect(find(manifests(undefined, 'prod'), 'Service', 'api').spec.sessionAffinity).toBe('None');
  });

  it('probes Streamlit at /_stcore/health on 8501', () => {
    const c = container(find(manifests(), 'Deployment', 'dashboard'));
    expect(c.readinessProbe.httpGet.path).toBe('/_stcore/health');
    expect(c.ports[0].containerPort).toBe(8501);
  });

  it('honours replicas, grace period, preStop and a liveness path from the spec; preStop 0 removes the hook', () => {
    const objs = manifestsOf({
      name: 'shop',
      components: { web: { kind: 'web', image: 'nginx:1.27', port: 8080, healthPath: '/', livenessPath: '/livez', replicas: 3, terminationGracePeriodSeconds: 50, preStopSleepSeconds: 0 } },
    });
    const d = find(objs, 'Deployment', 'web');
    expect(container(d).livenessProbe.httpGet).toEqual({ path: '/livez', port: 'http' });
    expect(container(d).lifecycle).toBeUndefined();
    expect(podSpec(d).terminationGracePeriodSeconds).toBe(50);
    expect(find(objs, 'HorizontalPodAutoscaler', 'web').spec).toMatchObject({ minReplicas: 3, maxReplicas: 9 });
  });
});

describe('WebService with a probe command (e.g. an imported compose healthcheck)', () => {
  it('checks readiness with the command and liveness with a TCP connect, so the two differ', () => {
    const objs = manifestsOf({
      name: 'shop',
      components: { web: { kind: 'web', image: 'ghcr.io/acme/web:1.0.0', port: 8080, probe: { command: ['sh', '-c', 'curl -fsS localhost:8080/ready'] } } },
    });
    const c = container(find(objs, 'Deployment', 'web'));
    expect(c.readinessProbe.exec.command).toEqual(['sh', '-c', 'curl -fsS localhost:8080/ready']);
    expect(c.startupProbe.exec).toBeDefined();
    expect(c.livenessProbe.exec).toBeUndefined();
    expect(c.livenessProbe.tcpSocket).toEqual({ port: 'http' });
  });
});
