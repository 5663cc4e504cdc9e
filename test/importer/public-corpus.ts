/**
 * The public compose corpus (test/fixtures/compose-public): real projects vendored as published,
 * each with a source note (SOURCE.md front matter) and expectations (expected.yaml) written from the
 * project's own docs and the Compose specification, never from what the importer prints. The format
 * is described in test/fixtures/compose-public/README.md; this module is its single definition.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';

export const CORPUS_ROOT = join(__dirname, '..', 'fixtures', 'compose-public');

/** What a compose service must become once imported. */
export const EXPECTED_KINDS = [
  'web', // serves HTTP (or another request protocol) on a port: Deployment + Service
  'worker', // runs continuously, serves nothing others call over HTTP
  'scheduled', // runs on a schedule: CronJob
  'job', // runs once to completion (init, prestart, migrations): Job
  'postgres', // a PostgreSQL server of the stack
  'redis', // a Redis-compatible server of the stack (redis, valkey, keydb, redis-stack)
  'stateful', // another server that keeps data (MySQL/MariaDB, MongoDB, Prometheus, ...)
  'external', // something the stack reaches but does not run
  'edge', // the public proxy (nginx, Traefik, Caddy): becomes the Ingress/Gateway
  'dev-only', // present in local environments only (admin UIs, mail catchers, test runners, CLIs)
  'dropped', // not deployed at all; `reason` says why
] as const;
export type ExpectedKind = (typeof EXPECTED_KINDS)[number];

/** Where a connection is seen: the evidence an importer can read. */
export const EVIDENCE = [
  'env', // an environment variable (URL, host, host:port) in compose, an env_file or .env
  'command', // the service's command or entrypoint
  'proxy-config', // an nginx/Caddy/Traefik config file (mounted or baked into a built image)
  'traefik-labels', // Traefik router/service labels
  'mounted-config', // another mounted config file (Grafana datasources, prometheus.yml, ...)
  'baked-config', // a config file the build context copies into the image
  'depends_on',
  'links',
  'code', // only the application code says it (the vendored case keeps a note of where)
] as const;

const serviceName = z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'must be a compose service name');
const relFile = z.string().regex(/^[^/].*$/, 'must be a path relative to the case folder').refine((p) => !p.split('/').includes('..'), 'must stay inside the case folder');
const port = z.number().int().min(1).max(65535);

export const connection = z.strictObject({
  /** `service:port` of a compose service of the case, or `host:port` of something outside it. */
  to: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*:[0-9]{1,5}$/, 'must be "service:port"'),
  via: z.array(z.enum(EVIDENCE)).min(1, 'name at least one piece of evidence'),
  /** The file (other than the compose files) that holds the evidence, when there is one in the case. */
  in: relFile.optional(),
  note: z.string().optional(),
});

export const login = z.strictObject({
  user: z.string().min(1),
  database: z.string().min(1),
  /** The server the login belongs to, as `service` of the case. */
  on: serviceName,
  /** @default postgres */
  engine: z.enum(['postgres', 'mysql', 'mongodb']).optional(),
  note: z.string().optional(),
});

export const route = z.strictObject({
  /** Host as the project's docs configure it; absent means "the stack's host". */
  host: z.string().optional(),
  /** Path prefix (or exact path where the proxy matches exactly). */
  path: z.string().regex(/^\//, 'must start with /'),
  exact: z.boolean().optional(),
});

export const expectedService = z
  .strictObject({
    becomes: z.enum(EXPECTED_KINDS),
    /** Other outcomes that are equally right (e.g. a daily loop as worker or scheduled). */
    alsoAccept: z.array(z.enum(EXPECTED_KINDS)).optional(),
    /** The port it serves (web, stateful, postgres, redis); others connect to it. */
    port: port.optional(),
    /** Further ports others connect to. */
    extraPorts: z.array(port).optional(),
    reason: z.string().optional(),
    connects: z.array(connection).optional(),
    logins: z.array(login).optional(),
    routes: z.array(route).optional(),
  })
  .superRefine((s, ctx) => {
    if (['dropped', 'external', 'dev-only'].includes(s.becomes) && !s.reason) ctx.addIssue({ code: 'custom', path: ['reason'], message: `a service that becomes ${s.becomes} needs a reason` });
    if (['web', 'postgres', 'redis', 'stateful'].includes(s.becomes) && s.port === undefined) ctx.addIssue({ code: 'custom', path: ['port'], message: `a service that becomes ${s.becomes} needs the port it serves` });
  });

export const expectations = z
  .strictObject({
    compose: z.strictObject({
      /** Compose files in the order the docs run them (`-f` order). */
      files: z.array(relFile).min(1),
      /** `--env-file`, when the docs pass one. */
      envFile: relFile.optional(),
      /** A file of variables the docs export into the shell before running compose (`export $(cat envs)`). */
      shellEnv: relFile.optional(),
      /** `--profile` values the docs use. */
      profiles: z.array(z.string()).optional(),
      /** Whether `docker compose config` accepts the files as run by the docs. */
      accepted: z.boolean(),
      rejectedBecause: z.string().optional(),
    }),
    services: z.record(serviceName, expectedService).refine((s) => Object.keys(s).length > 0, 'must list every service'),
    /** Defects a reader should know about that are the project's own, not the importer's. */
    notes: z.array(z.string()).optional(),
  })
  .superRefine((e, ctx) => {
    if (!e.compose.accepted && !e.compose.rejectedBecause) ctx.addIssue({ code: 'custom', path: ['compose', 'rejectedBecause'], message: 'say why compose rejects the file' });
    const names = new Set(Object.keys(e.services));
    for (const [name, s] of Object.entries(e.services)) {
      for (const [i, c] of (s.connects ?? []).entries()) {
        const target = c.to.slice(0, c.to.lastIndexOf(':'));
        if (!names.has(target) && !c.via.includes('code') && !target.includes('.')) ctx.addIssue({ code: 'custom', path: ['services', name, 'connects', i, 'to'], message: `${target} is not a service of this case` });
      }
      for (const [i, l] of (s.logins ?? []).entries()) {
        if (!names.has(l.on)) ctx.addIssue({ code: 'custom', path: ['services', name, 'logins', i, 'on'], message: `${l.on} is not a service of this case` });
      }
    }
  });

export type Expectations = z.output<typeof expectations>;
export type ExpectedService = z.output<typeof expectedService>;
export type ExpectedConnection = z.output<typeof connection>;

const hex40 = z.string().regex(/^[0-9a-f]{40}$/, 'must be a full 40-hex commit');
const upstreamFile = z.union([z.string().min(1), z.strictObject({ path: z.string().min(1), commit: hex40 })]);

/** The front matter of a case's SOURCE.md: where every vendored file comes from. */
export const sourceNote = z.strictObject({
  repository: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'must be "owner/name"'),
  commit: hex40,
  /** SPDX identifier of the repository's licence, as read in its licence file. */
  licence: z.string().min(2),
  licenceFile: z.string().min(1),
  /** Local file -> upstream path (or path and commit when that file was read at another commit). */
  files: z.record(z.string(), upstreamFile),
  /** Files the project's docs tell users to create, written here as stand-ins: local file -> the docs' instruction. */
  standIns: z.record(z.string(), z.string()).optional(),
  /** What the project's docs say to run. */
  run: z.string().min(1),
});
export type SourceNote = z.output<typeof sourceNote>;

export interface CorpusCase {
  readonly name: string;
  readonly dir: string;
  readonly expected: Expectations;
  readonly source: SourceNote;
}

export class CorpusError extends Error {}

function formatIssues(file: string, error: z.ZodError): string {
  return error.issues.map((i) => `${file}: ${i.path.join('.') || '(top)'}: ${i.message}`).join('\n');
}

export function parseSourceNote(text: string, file: string): SourceNote {
  const m = /^---\n([\s\S]*?)\n---\n/.exec(text);
  if (!m) throw new CorpusError(`${file}: must start with a YAML front matter block between --- lines`);
  const r = sourceNote.safeParse(parse(m[1]));
  if (!r.success) throw new CorpusError(formatIssues(file, r.error));
  return r.data;
}

export function parseExpectations(text: string, file: string): Expectations {
  const r = expectations.safeParse(parse(text));
  if (!r.success) throw new CorpusError(formatIssues(file, r.error));
  return r.data;
}

export function caseNames(root = CORPUS_ROOT): string[] {
  return readdirSync(root)
    .filter((n) => statSync(join(root, n)).isDirectory())
    .sort();
}

export function loadCase(name: string, root = CORPUS_ROOT): CorpusCase {
  const dir = join(root, name);
  const exp = join(dir, 'expected.yaml');
  const src = join(dir, 'SOURCE.md');
  if (!existsSync(exp)) throw new CorpusError(`${exp}: missing`);
  if (!existsSync(src)) throw new CorpusError(`${src}: missing`);
  return { name, dir, expected: parseExpectations(readFileSync(exp, 'utf8'), exp), source: parseSourceNote(readFileSync(src, 'utf8'), src) };
}

/** Every file an expectations file or source note names, relative to the case folder. */
export function referencedFiles(c: CorpusCase): string[] {
  const e = c.expected;
  const files = new Set<string>([...e.compose.files, ...Object.keys(c.source.files), ...Object.keys(c.source.standIns ?? {})]);
  if (e.compose.envFile) files.add(e.compose.envFile);
  if (e.compose.shellEnv) files.add(e.compose.shellEnv);
  for (const s of Object.values(e.services)) for (const conn of s.connects ?? []) if (conn.in) files.add(conn.in);
  return [...files].sort();
}

/** Files present in the case folder, relative to it, other than the corpus's own notes. */
export function caseFiles(c: CorpusCase): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(c.dir, p));
    }
  };
  walk(c.dir);
  return out.filter((f) => f !== 'expected.yaml' && f !== 'SOURCE.md').sort();
}
