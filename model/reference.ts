/**
 * The reference stack: a data platform as it runs under docker compose (FastAPI API, Streamlit
 * dashboard, nightly worker, alembic migration, PostgreSQL with two databases, Redis, pgAdmin).
 * `npm run synth` renders it when no `--spec` file is given. Its application is
 * examples/dataplatform-app; the images are built locally under these names (see its README).
 */
import { defineStack } from './load';

/** DATAPLATFORM_APP_VERSION in scripts/images/versions.env. */
const VERSION = '0.1.0';

export const referenceStack = defineStack(
  {
    apiVersion: 'stackport.dev/v1alpha1',
    name: 'dataplatform',
    components: {
      api: {
        kind: 'web',
        role: 'api',
        image: `stackport.local/dataplatform-api:${VERSION}`,
        command: ['gunicorn', 'app.main:app', '--worker-class', 'uvicorn.workers.UvicornWorker', '--bind', '0.0.0.0:8000', '--workers', '2', '--graceful-timeout', '25', '--timeout', '60'],
        port: 8000,
        healthPath: '/health',
        metricsPath: '/metrics',
        env: { LOG_LEVEL: 'info', FORWARDED_ALLOW_IPS: '*' },
        uses: [
          { to: 'postgres', database: 'app' },
          { to: 'redis', redisDb: 0 },
        ],
        after: ['migrate'],
        autoscaling: { maxReplicas: 6, cpuUtilization: 70 },
      },
      dashboard: {
        kind: 'web',
        role: 'dashboard',
        image: `stackport.local/dataplatform-dashboard:${VERSION}`,
        command: ['streamlit', 'run', 'dashboard/app.py', '--server.port=8501', '--server.address=0.0.0.0', '--server.headless=true'],
        port: 8501,
        healthPath: '/_stcore/health',
        // Streamlit writes ~/.streamlit; HOME points at the writable /tmp.
        env: { HOME: '/tmp', STREAMLIT_BROWSER_GATHER_USAGE_STATS: 'false' },
        uses: [
          { to: 'postgres', database: 'app', access: 'read-only' },
          { to: 'postgres', database: 'features', access: 'read-only', env: 'FEATURES_DATABASE_URL' },
          { to: 'api', env: 'API_URL' },
        ],
      },
      worker: {
        kind: 'worker',
        mode: 'scheduled',
        image: `stackport.local/dataplatform-worker:${VERSION}`,
        command: ['python', '-m', 'worker', 'run', '--once', '--tasks', 'ingest,retention,features'],
        schedule: '0 0 * * *',
        timeZone: 'Etc/UTC',
        env: { LOG_LEVEL: 'info', RETENTION_DAYS: '365' },
        secretEnv: { FRED_API_KEY: 'external-apis/fred-api-key', FMP_API_KEY: 'external-apis/fmp-api-key' },
        uses: [
          { to: 'postgres', database: 'app' },
          { to: 'postgres', database: 'features', env: 'FEATURES_DATABASE_URL' },
          { to: 'redis', redisDb: 1 },
        ],
        after: ['migrate'],
        egress: [{ cidr: '0.0.0.0/0', ports: [443] }],
      },
      migrate: {
        kind: 'job',
        image: `stackport.local/dataplatform-api:${VERSION}`,
        command: ['alembic', 'upgrade', 'head'],
        uses: [{ to: 'postgres', database: 'app' }],
      },
      postgres: {
        kind: 'postgres',
        image: 'postgres:16.4',
        databases: [
          { name: 'app', owner: 'app' },
          { name: 'features', owner: 'pipeline' },
        ],
        backup: { schedule: '30 1 * * *', retain: 7 },
      },
      redis: { kind: 'redis', image: 'redis:7.4', password: true, maxMemory: '256mb', cache: true },
      pgadmin: { kind: 'pgadmin', image: 'dpage/pgadmin4:9.17', email: 'admin@example.com' },
    },
    // Dashboard at /, API at /api on <name>.localtest.me locally (it resolves to 127.0.0.1).
    edge: { rateLimit: { average: 10, burst: 20 } },
    monitoring: { release: 'kube-prometheus-stack', interval: '10s', alerts: { errorRatio: 0.05, latencyP95Seconds: 1, backupMaxAgeHours: 25 } },
    environments: {
      prod: { edge: { host: 'data.example.com', className: 'eg', tls: { issuer: 'acme', email: 'platform@example.com' } } },
    },
  },
  'model/reference.ts',
);
