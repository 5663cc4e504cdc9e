/**
 * The day-to-day commands (ops/commands.ts) in-process, against a recording kubectl (and kind, k3d)
 * first on PATH whose kubeconfig has the contexts `lab` and, unless a test removes it, the stack's
 * own kind cluster. Each test checks the exact calls and what the user is told.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { backupCommand, downCommand, logsCommand, psqlCommand, restoreCommand, runCommand, statusCommand } from '../../ops/commands';
import { refusal } from './refusal';
import { standIns, type Reply, type StandIns } from './standins';

const SPEC = `apiVersion: stackport.dev/v1alpha1
name: dataplatform
components:
  api:
    kind: web
    image: example.com/api:1.0.0
    port: 8000
    healthPath: /health
    uses:
      - to: postgres
        database: app
  worker:
    kind: worker
    image: example.com/worker:1.0.0
    command: [python, -m, worker]
  consumer:
    kind: worker
    mode: continuous
    image: example.com/worker:1.0.0
    command: [python, -m, consumer]
    healthPort: 8080
    healthPath: /health
  postgres:
    kind: postgres
    databases:
      - name: app
        owner: app
      - name: features
        owner: pipeline
  redis:
    kind: redis
environments:
  prod:
    edge:
      host: data.example.com
      className: eg
`;

const CONTEXTS: Reply = { match: 'config get-contexts -o name', stdout: 'prod-eu\nlab\nkind-dataplatform\n' };
/** Records the arguments of a call one per NUL-terminated entry, so quoting shows. */
const RECORD_ARGV = `for a in "$@"; do printf '%s\\0' "$a"; done > "$STATE/argv"`;
/** Every byte value once: a dump is binary. */
const BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const SUPERUSER = 'PGPASSWORD="$(cat "$POSTGRES_PASSWORD_FILE")"';

let dir: string;
let spec: string;
let tools: StandIns | undefined;
let stderr: string[];
let stdout: string[];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'stackport-commands-'));
  spec = join(dir, 'stack.yaml');
  writeFileSync(spec, SPEC);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => {
  stderr = [];
  stdout = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => (stderr.push(String(s)), true));
  vi.spyOn(console, 'log').mockImplementation((...a) => void stdout.push(a.join(' ')));
});
afterEach(() => {
  vi.restoreAllMocks();
  tools?.restore();
  tools = undefined;
});

/** kubectl (answering the contexts first), kind and k3d stand-ins. */
function cluster(replies: Reply[] = [], contexts: Reply = CONTEXTS): StandIns {
  tools = standIns({ kubectl: [contexts, ...replies], kind: [], k3d: [] });
  return tools;
}

const argv = () => readFileSync(join(tools!.dir, 'state', 'argv'), 'utf8').split('\0').slice(0, -1);
const onLab = ['--context', 'lab'];
const withSpec = (...args: string[]) => [...args, '--spec', spec];


describe('psql', () => {
  it("--read-only -c runs psql in the server's pod, read only, with exactly these arguments", () => {
    cluster([{ match: '*exec*', sh: RECORD_ARGV }]);
    expect(psqlCommand(withSpec('app', '--read-only', '-c', 'select 1', ...onLab))).toBe(0);
    const script = `${SUPERUSER} PGOPTIONS='-c default_transaction_read_only=on' exec psql '-v' 'ON_ERROR_STOP=1' '-h' '/var/run/postgresql' '-p' '5432' '-U' 'postgres' '-d' 'app' '-c' 'select 1'`;
    expect(argv()).toEqual(['--context', 'lab', '-n', 'dataplatform', 'exec', '-i', 'postgres-0', '-c', 'postgres', '--', 'sh', '-c', script]);
    expect(tools!.commands()).toEqual(['kubectl config get-contexts -o name', `kubectl --context lab -n dataplatform exec -i postgres-0 -c postgres -- sh -c ${script}`]);
    expect(stderr).toEqual(['context: lab\n', 'postgres/app (read only) in dataplatform\n']);
  });

  it("the script, run by sh, starts psql with the password from the file, read only, and the SQL as one argument", () => {
    cluster([{ match: '*exec*', sh: RECORD_ARGV }]);
    psqlCommand(withSpec('features', '--read-only', '-c', "select 'it''s'", ...onLab));
    const bin = mkdtempSync(join(dir, 'bin-'));
    writeFileSync(join(bin, 'psql'), '#!/bin/sh\nprintf "PGPASSWORD=%s\\nPGOPTIONS=%s\\n" "$PGPASSWORD" "$PGOPTIONS"\nfor a in "$@"; do printf "[%s]\\n" "$a"; done\n');
    chmodSync(join(bin, 'psql'), 0o755);
    writeFileSync(join(bin, 'password'), 's3cret');
    const r = spawnSync('/bin/sh', ['-c', argv().at(-1)!], { env: { PATH: `${bin}:/usr/bin:/bin`, POSTGRES_PASSWORD_FILE: join(bin, 'password') }, encoding: 'utf8' });
    expect(r.stdout).toBe('PGPASSWORD=s3cret\nPGOPTIONS=-c default_transaction_read_only=on\n[-v]\n[ON_ERROR_STOP=1]\n[-h]\n[/var/run/postgresql]\n[-p]\n[5432]\n[-U]\n[postgres]\n[-d]\n[features]\n[-c]\n[select \'it\'\'s\']\n');
  });

  it("passes kubectl's exit code on", () => {
    cluster([{ match: '*exec*', exit: 3 }]);
    expect(psqlCommand(withSpec('app', '-c', 'select nope', ...onLab))).toBe(3);
  });
});

describe('backup', () => {
  const dump = () => join(mkdtempSync(join(dir, 'backup-')), 'app.dump');

  it("writes pg_dump's output to the file byte for byte", () => {
    cluster([{ match: '*exec*pg_dump*', stdout: BYTES, sh: RECORD_ARGV }]);
    const file = dump();
    expect(backupCommand(withSpec('app', '--to', file, ...onLab))).toBe(0);
    expect(readFileSync(file)).toEqual(BYTES);
    expect(argv()).toEqual(['--context', 'lab', '-n', 'dataplatform', 'exec', '-i', 'postgres-0', '-c', 'postgres', '--', 'sh', '-c', `${SUPERUSER} exec pg_dump -h /var/run/postgresql -p 5432 -U postgres --format=custom -d 'app'`]);
    expect(stdout).toEqual([`wrote ${file} (256 bytes, pg_dump custom format)`]);
    expect(readdirSync(join(file, '..'))).toEqual(['app.dump']);
  });

  it('leaves no file, whole or partial, when pg_dump fails, and says why', async () => {
    cluster([{ match: '*exec*pg_dump*', stdout: BYTES.subarray(0, 100), stderr: 'pg_dump: error: connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed\n', exit: 1 }]);
    const file = dump();
    const e = await refusal(() => backupCommand(withSpec('app', '--to', file, ...onLab)));
    expect(e.message).toBe('backup of postgres/app failed: pg_dump: error: connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed');
    expect(existsSync(file)).toBe(false);
    expect(readdirSync(join(file, '..'))).toEqual([]);
  });

  it('a failed backup leaves an earlier backup of the same name as it was', async () => {
    cluster([{ match: '*exec*pg_dump*', stdout: 'partial', exit: 1 }]);
    const file = dump();
    writeFileSync(file, 'yesterday');
    await refusal(() => backupCommand(withSpec('app', '--to', file, ...onLab)));
    expect(readFileSync(file, 'utf8')).toBe('yesterday');
  });

  it('a --to in a folder that does not exist is refused, naming that file', async () => {
    cluster();
    const file = join(dir, 'no', 'such', 'app.dump');
    const e = await refusal(() => backupCommand(withSpec('app', '--to', file, ...onLab)));
    expect([e.message, e.code]).toEqual([`--to ${file}: the folder ${join(dir, 'no', 'such')} does not exist`, 2]);
    expect(tools!.commands()).toEqual(['kubectl config get-contexts -o name']);
  });

  it('a server with several databases is refused before anything runs', async () => {
    cluster();
    const e = await refusal(() => backupCommand(withSpec('postgres', '--to', dump(), ...onLab)));
    expect([e.message, e.code]).toEqual(['postgres holds 2 databases (app, features): name the one to use', 2]);
    expect(tools!.commands()).toEqual(['kubectl config get-contexts -o name']);
  });
});

describe('restore', () => {
  it('feeds the file to pg_restore on stdin, in one transaction', () => {
    cluster([{ match: '*exec*pg_restore*', sh: `${RECORD_ARGV}; cat > "$STATE/stdin"` }]);
    const file = join(dir, 'restore.dump');
    writeFileSync(file, BYTES);
    expect(restoreCommand(withSpec('app', '--from', file, ...onLab))).toBe(0);
    expect(readFileSync(join(tools!.dir, 'state', 'stdin'))).toEqual(BYTES);
    expect(argv().at(-1)).toBe(`${SUPERUSER} exec pg_restore -h /var/run/postgresql -p 5432 -U postgres --clean --if-exists --single-transaction --exit-on-error -d 'app'`);
    expect(stdout).toEqual([`restored app from ${file}`]);
  });

  it("a failed restore says nothing changed, with pg_restore's last lines", async () => {
    cluster([{ match: '*exec*pg_restore*', stderr: 'pg_restore: while PROCESSING TOC:\npg_restore: error: could not execute query\nERROR: permission denied\nCommand was: DROP TABLE public.t;\n', exit: 1 }]);
    const file = join(dir, 'restore.dump');
    writeFileSync(file, BYTES);
    const e = await refusal(() => restoreCommand(withSpec('app', '--from', file, ...onLab)));
    expect(e.message).toBe(`restore of postgres/app from ${file} failed, nothing was changed: pg_restore: error: could not execute query / ERROR: permission denied / Command was: DROP TABLE public.t;`);
  });

  it('a missing file is refused before anything runs', async () => {
    cluster();
    const e = await refusal(() => restoreCommand(withSpec('app', '--from', join(dir, 'nope.dump'), ...onLab)));
    expect([e.message, e.code]).toEqual([`--from ${join(dir, 'nope.dump')}: no such file`, 2]);
    expect(tools!.commands()).toEqual(['kubectl config get-contexts -o name']);
  });
});

describe('run', () => {
  it('a scheduled worker without its CronJob on the cluster: run up first', async () => {
    cluster();
    const e = await refusal(() => runCommand(withSpec('worker', ...onLab)));
    expect(e.message).toBe('worker has no CronJob in namespace dataplatform: run stackport up kind first');
    expect(tools!.commands().slice(1)).toEqual([
      'kubectl --context lab -n dataplatform get cronjob worker -o json --ignore-not-found',
      'kubectl --context lab -n dataplatform get deployment worker -o json --ignore-not-found',
    ]);
  });

  it('a continuous worker is not run', async () => {
    cluster([{ match: '*get deployment consumer*', stdout: JSON.stringify({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'consumer' } }) }]);
    const e = await refusal(() => runCommand(withSpec('consumer', ...onLab)));
    expect(e.message).toBe('consumer runs continuously (a Deployment); run starts scheduled workers (with a schedule)');
  });

  /** A cluster with the worker's CronJob, the run's pods as given, and the Job's verdict (Failed). */
  const workerRun = (cronJob: object, pods: object) =>
    cluster([
      { match: '*get cronjob worker*', stdout: JSON.stringify(cronJob) },
      { match: '*create -f -', sh: 'cat > "$STATE/job"' },
      { match: '*get pods*', stdout: JSON.stringify(pods) },
      { match: '*get job worker-run-*', stdout: JSON.stringify({ status: { conditions: [{ type: 'Failed', status: 'True' }] } }) },
    ]);

  it("runs one attempt of the CronJob's template as a manual Job, follows its log and returns the worker's exit code", async () => {
    const labels = { 'app.kubernetes.io/name': 'worker', 'app.kubernetes.io/part-of': 'dataplatform' };
    const cronJob = { metadata: { name: 'worker', labels }, spec: { jobTemplate: { metadata: { labels }, spec: { backoffLimit: 6, template: { spec: { containers: [{ name: 'worker', image: 'example.com/worker:1.0.0' }] } } } } } };
    const pods = { items: [{ status: { containerStatuses: [{ name: 'worker', state: { terminated: { exitCode: 4 } } }] } }] };
    workerRun(cronJob, pods);
    expect(await runCommand(withSpec('worker', ...onLab))).toBe(4);
    const job = JSON.parse(readFileSync(join(tools!.dir, 'state', 'job'), 'utf8'));
    expect(job.metadata.name).toMatch(/^worker-run-\d{14}$/);
    expect(job).toEqual({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: job.metadata.name, namespace: 'dataplatform', labels, annotations: { 'cronjob.kubernetes.io/instantiate': 'manual' } },
      spec: { ...cronJob.spec.jobTemplate.spec, backoffLimit: 0, template: { spec: { ...cronJob.spec.jobTemplate.spec.template.spec, restartPolicy: 'Never' } } },
    });
    expect(tools!.commands().slice(1)).toEqual([
      'kubectl --context lab -n dataplatform get cronjob worker -o json --ignore-not-found',
      'kubectl --context lab create -f -',
      `kubectl --context lab -n dataplatform get pods -l batch.kubernetes.io/job-name=${job.metadata.name} -o json --ignore-not-found`,
      `kubectl --context lab -n dataplatform logs -f job/${job.metadata.name} -c worker`,
      `kubectl --context lab -n dataplatform get pods -l batch.kubernetes.io/job-name=${job.metadata.name} -o json --ignore-not-found`,
      // The Job's verdict, so a status right after agrees with the exit code.
      `kubectl --context lab -n dataplatform get job ${job.metadata.name} -o json --ignore-not-found`,
    ]);
    expect(stderr.at(-1)).toBe(`job ${job.metadata.name}: worker exited with 4\n`);
  });

  it('reads the exit code of a container the kubelet already restarted (lastState)', async () => {
    const labels = { 'app.kubernetes.io/name': 'worker' };
    const cronJob = { metadata: { name: 'worker', labels }, spec: { jobTemplate: { metadata: { labels }, spec: { template: { spec: { containers: [{ name: 'worker', image: 'example.com/worker:1.0.0' }] } } } } } };
    const pods = { items: [{ status: { containerStatuses: [{ name: 'worker', state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 3 } } }] } }] };
    workerRun(cronJob, pods);
    expect(await runCommand(withSpec('worker', ...onLab))).toBe(3);
  });

  it('a --timeout that is not a number is refused before a Job is made', async () => {
    cluster();
    const e = await refusal(() => runCommand(withSpec('worker', '--timeout', '10m', ...onLab)));
    expect([e.message, e.code]).toEqual(['--timeout 10m: expected a number of seconds', 2]);
    expect(tools!.commands()).toEqual(['kubectl config get-contexts -o name']);
  });

  it('a component that is no worker is refused with the workers there are', async () => {
    cluster();
    const e = await refusal(() => runCommand(withSpec('api', ...onLab)));
    expect([e.message, e.code]).toEqual([`no worker "api" in ${spec} (kind): expected one of worker, consumer`, 2]);
  });
});

describe('logs', () => {
  it('an unknown component is refused with the components there are', async () => {
    cluster();
    const e = await refusal(() => logsCommand(withSpec('apii', ...onLab)));
    expect([e.message, e.code]).toEqual([`no component "apii" in ${spec} (kind): expected one of api, worker, consumer, postgres, redis`, 2]);
    expect(tools!.commands()).toEqual(['kubectl config get-contexts -o name']);
  });

  it("reads every container of the component's pods", () => {
    cluster();
    expect(logsCommand(withSpec('api', '--tail', '20', '-f', ...onLab))).toBe(0);
    expect(tools!.commands().at(-1)).toBe('kubectl --context lab -n dataplatform logs -l app.kubernetes.io/name=api,app.kubernetes.io/part-of=dataplatform --all-containers --prefix --tail 20 --max-log-requests 20 -f');
  });
});

describe('down', () => {
  const DELETED = 'deployment.apps "api" deleted\nstatefulset.apps "postgres" deleted\nservice "api" deleted\n';
  const CLAIMS = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ metadata: { name: 'data-postgres-0' } }, { metadata: { name: 'data-redis-0' } }] });

  it("deletes the stack's objects by its label and keeps the namespace, the claims and the Secrets", () => {
    cluster([
      { match: '*delete deployments.apps*', stdout: DELETED },
      // Served, and left alone: they own the Secrets that down keeps.
      { match: '*api-resources -o name', stdout: 'pods\nhttproutes.gateway.networking.k8s.io\nservicemonitors.monitoring.coreos.com\npodmonitors.monitoring.coreos.com\nmiddlewares.traefik.io\nexternalsecrets.external-secrets.io\nsealedsecrets.bitnami.com\n' },
      { match: '*delete httproutes*', stdout: 'httproute.gateway.networking.k8s.io "api" deleted\n' },
      { match: '*get pvc*', stdout: CLAIMS },
    ]);
    expect(downCommand(withSpec(...onLab))).toBe(0);
    expect(tools!.commands()).toEqual([
      'kubectl config get-contexts -o name',
      'kubectl --context lab -n dataplatform delete deployments.apps,statefulsets.apps,cronjobs.batch,jobs.batch,services,configmaps,networkpolicies.networking.k8s.io,poddisruptionbudgets.policy,horizontalpodautoscalers.autoscaling,ingresses.networking.k8s.io -l app.kubernetes.io/part-of=dataplatform --ignore-not-found --wait=true',
      'kubectl --context lab api-resources -o name',
      'kubectl --context lab -n dataplatform delete httproutes.gateway.networking.k8s.io,servicemonitors.monitoring.coreos.com,podmonitors.monitoring.coreos.com,middlewares.traefik.io -l app.kubernetes.io/part-of=dataplatform --ignore-not-found',
      'kubectl --context lab -n dataplatform get pvc -o json --ignore-not-found',
    ]);
    expect(stdout).toEqual([
      'removed 4 objects of dataplatform; kept namespace dataplatform, 2 claim(s) (data-postgres-0, data-redis-0) and the Secrets: stackport up kind brings the stack back on the same data; --delete-data removes it',
    ]);
  });

  it('--delete-cluster with --context is refused, and nothing is deleted', async () => {
    cluster();
    const e = await refusal(() => downCommand(withSpec('--delete-cluster', ...onLab)));
    expect([e.message, e.code]).toEqual(["--delete-cluster deletes only the environment's own kind or k3d cluster; it is refused with --context", 2]);
    expect(tools!.commands().filter((c) => !c.startsWith('kubectl config'))).toEqual([]);
  });

  it("--delete-cluster deletes the environment's own cluster", () => {
    cluster();
    expect(downCommand(withSpec('kind', '--delete-cluster'))).toBe(0);
    expect(tools!.commands()).toEqual(['kubectl config get-contexts -o name', 'kind delete cluster --name dataplatform']);
    expect(stdout).toEqual(['deleted the kind cluster dataplatform and all its data']);
  });
});

describe('the context', () => {
  it("status without the environment's own cluster says to run up", async () => {
    cluster([], { match: 'config get-contexts -o name', stdout: 'prod-eu\nlab\n' });
    const e = await refusal(() => statusCommand(withSpec('k3d')));
    expect(e.message).toBe('the k3d cluster of dataplatform (context k3d-dataplatform) does not exist: run stackport up k3d first, or pass --context to use another cluster');
    expect(tools!.commands()).toEqual(['kubectl config get-contexts -o name']);
  });

  it.each([
    ['status', () => statusCommand(withSpec('prod'))],
    ['psql', () => psqlCommand(withSpec('app', '--env', 'prod'))],
    ['down', () => downCommand(withSpec('prod'))],
  ])('%s on prod without --context is refused (exit code 2), asking kubectl nothing', async (_, command) => {
    cluster();
    const e = await refusal(command);
    expect([e.message, e.code]).toEqual(['prod is never targeted without an explicit --context: pass --context <the production context>', 2]);
    expect(tools!.commands()).toEqual([]);
  });
});

it('without --spec, ./stack.yaml in the working directory is the spec', async () => {
  cluster([]);
  const cwd = mkdtempSync(join(dir, 'cwd-'));
  writeFileSync(join(cwd, 'stack.yaml'), SPEC.replace('  redis:\n    kind: redis\n', ''));
  const saved = process.cwd();
  process.chdir(cwd);
  try {
    const e = await refusal(() => logsCommand(['nope', ...onLab]));
    expect(e.message).toBe('no component "nope" in stack.yaml (kind): expected one of api, worker, consumer, postgres');
  } finally {
    process.chdir(saved);
  }
});
