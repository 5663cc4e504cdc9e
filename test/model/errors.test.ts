/**
 * Malformed specs must be rejected with a message that names the field path and says what is
 * expected. Each case is a small mutation of one valid base spec, so the mutation is the only
 * thing wrong with it and the error must report exactly that.
 */
import { describe, expect, it } from 'vitest';
import { SpecError } from '../../model/errors';
import { defineStack, parseSpec } from '../../model/load';
import { resolveStack } from '../../model/presets';
import { referenceStack } from '../../model/reference';
import { ENVIRONMENTS, type StackSpecInput } from '../../model/schema';

/** A spec under construction; mutations may put anything anywhere. */
type Draft = { [key: string]: any };

const SOURCE = 'shop.ts';

/** A small valid stack that touches every kind a relation or `after` can point at. */
const BASE: StackSpecInput = {
  name: 'shop',
  components: {
    api: {
      kind: 'web',
      image: 'ghcr.io/acme/shop-api:1.0.0',
      port: 8000,
      healthPath: '/health',
      env: { LOG_LEVEL: 'info' },
      uses: ['postgres', 'redis'],
      after: ['migrate'],
    },
    worker: {
      kind: 'worker',
      image: 'ghcr.io/acme/shop-worker:1.0.0',
      schedule: '0 0 * * *',
      uses: [{ to: 'postgres', database: 'app' }],
      after: ['migrate'],
    },
    migrate: { kind: 'job', image: 'ghcr.io/acme/shop-api:1.0.0', uses: ['postgres'] },
    postgres: { kind: 'postgres', image: 'postgres:16.4', databases: [{ name: 'app', owner: 'app' }] },
    redis: { kind: 'redis', image: 'redis:7.4' },
  },
};

/** A deep copy of the base spec with one mutation applied. */
function variant(mutate: (spec: Draft) => void): Draft {
  const spec = structuredClone(BASE) as Draft;
  mutate(spec);
  return spec;
}

/** Parses a variant of the base spec and returns the SpecError it must raise. */
function rejected(mutate: (spec: Draft) => void): SpecError {
  const spec = variant(mutate);
  try {
    parseSpec(spec, SOURCE);
  } catch (e) {
    expect(e).toBeInstanceOf(SpecError);
    return e as SpecError;
  }
  throw new Error(`expected a SpecError, but the spec was accepted:\n${JSON.stringify(spec, null, 2)}`);
}

/**
 * Asserts the error holds exactly one problem and that its line reads `<source>: <path>: <message…>`
 * with every fragment on that same line.
 */
function expectSingleProblem(err: SpecError, path: string, ...fragments: string[]): void {
  expect(err.message).toContain(`Invalid stack spec in ${SOURCE} (1 problem):`);
  expect(err.issues).toHaveLength(1);
  const line = err.message.split('\n')[1];
  expect(line).toContain(`${SOURCE}: ${path}: `);
  for (const f of fragments) expect(line).toContain(f);
}

describe('valid specs', () => {
  it('accepts the base spec used by every case below', () => {
    const spec = parseSpec(structuredClone(BASE), SOURCE);
    expect(Object.keys(spec.components)).toEqual(['api', 'worker', 'migrate', 'postgres', 'redis']);
    // Short relation forms come out normalized.
    expect(spec.components.migrate).toMatchObject({ uses: [{ to: 'postgres' }] });
  });

  it('accepts a minimal spec with a single web component', () => {
    const spec = defineStack({
      name: 'hello',
      components: { web: { kind: 'web', image: 'nginxinc/nginx-unprivileged:1.27', port: 8080, healthPath: '/' } },
    });
    expect(spec.name).toBe('hello');
    expect(spec.components.web.kind).toBe('web');
  });

  it('accepts the reference stack, and re-parsing it changes nothing', () => {
    expect(referenceStack.name).toBe('dataplatform');
    expect(parseSpec(structuredClone(referenceStack), 'reference')).toEqual(referenceStack);
  });

  it.each(ENVIRONMENTS)('resolves the reference stack for %s', (env) => {
    const resolved = resolveStack(referenceStack, env);
    expect(resolved.components.api.replicas).toBeGreaterThanOrEqual(1);
  });
});

describe('field-level errors', () => {
  it('missing name', () => {
    const err = rejected((s) => delete s.name);
    expectSingleProblem(err, 'name', 'name: is required', 'string');
    expect(err.issues[0].path).toEqual(['name']);
  });

  it('name that is not a DNS label', () => {
    expect(() => parseSpec(variant((s) => (s.name = 'My_Shop')), SOURCE)).toThrow(SpecError);
    expectSingleProblem(rejected((s) => (s.name = 'My_Shop')), 'name', 'name: must be a DNS label', 'lower-case');
  });

  it('unknown top-level field', () => {
    expectSingleProblem(rejected((s) => (s.version = 2)), 'version', 'version: unknown field');
  });

  it('unknown component field', () => {
    expectSingleProblem(rejected((s) => (s.components.api.ports = [8000])), 'components.api.ports', 'components.api.ports: unknown field');
  });

  it('unknown component kind', () => {
    expectSingleProblem(
      rejected((s) => (s.components.api.kind = 'lambda')),
      'components.api.kind',
      'components.api.kind: must have kind web, worker, job, postgres, redis, pgadmin or stateful',
    );
  });

  it('port out of range', () => {
    expect(() => parseSpec(variant((s) => (s.components.api.port = 70000)), SOURCE)).toThrow('components.api.port: must be a port number from 1 to 65535');
    expectSingleProblem(rejected((s) => (s.components.api.port = 0)), 'components.api.port', '1 to 65535');
  });

  it('non-integer replicas', () => {
    const err = rejected((s) => (s.components.api.replicas = 1.5));
    // The value is present, so the message must say what is wrong with it, not that it is missing.
    expectSingleProblem(err, 'components.api.replicas', 'components.api.replicas: expected int', '1.5');
    expect(err.message).not.toContain('is required');
  });

  it('image that is not a reference', () => {
    expectSingleProblem(
      rejected((s) => (s.components.api.image = 'ghcr.io/acme/Shop API:1.0')),
      'components.api.image',
      'components.api.image: must be a container image reference',
    );
  });

  it('unpinned images run locally, and prod names every one with what else it needs in one message', () => {
    const spec = parseSpec(
      variant((s) => {
        s.components.api.image = 'ghcr.io/acme/shop-api';
        s.components.worker.image = 'localhost:5000/shop-worker:latest';
        s.components.migrate.image = 'ghcr.io/acme/shop-api@sha256:' + 'a'.repeat(64);
      }),
      SOURCE,
    );
    for (const env of ['kind', 'k3d'] as const) expect(resolveStack(spec, env, SOURCE).components.api.image).toBe('ghcr.io/acme/shop-api');
    let err: unknown;
    try {
      resolveStack(spec, 'prod', SOURCE);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SpecError);
    const lines = (err as SpecError).message.split('\n');
    expect(lines[0]).toBe(`Invalid stack spec in ${SOURCE} (4 problems):`);
    expect(lines).toContain(`  - ${SOURCE}: environments.prod.edge.host: is required for prod: the public host name of the stack`);
    expect(lines).toContain(`  - ${SOURCE}: environments.prod.edge.className: is required for prod: the GatewayClass (or IngressClass) of the cluster`);
    expect(lines.find((l) => l.includes('components.api.image'))).toContain('"ghcr.io/acme/shop-api" has no pinned tag or digest; prod needs one');
    expect(lines.find((l) => l.includes('components.worker.image'))).toContain('"localhost:5000/shop-worker:latest" has no pinned tag or digest');
    expect((err as SpecError).message).not.toContain('components.migrate.image');
  });

  it('a prod override that pins the image satisfies prod, and one that unpins it is named', () => {
    const pinned = parseSpec(
      variant((s) => {
        s.components.api.image = 'ghcr.io/acme/shop-api';
        s.environments = { prod: { edge: { host: 'shop.example.com', className: 'eg' }, components: { api: { image: 'ghcr.io/acme/shop-api:1.0.1' } } } };
      }),
      SOURCE,
    );
    expect(resolveStack(pinned, 'prod', SOURCE).components.api.image).toBe('ghcr.io/acme/shop-api:1.0.1');
    const unpinned = parseSpec(variant((s) => (s.environments = { prod: { components: { api: { image: 'ghcr.io/acme/shop-api:latest' } } } })), SOURCE);
    expect(() => resolveStack(unpinned, 'prod', SOURCE)).toThrow(`${SOURCE}: environments.prod.components.api.image: "ghcr.io/acme/shop-api:latest" has no pinned tag or digest`);
  });

  it('bad quantity in resources', () => {
    expectSingleProblem(
      rejected((s) => (s.components.api.resources = { requests: { cpu: '100m', memory: '512MB' }, limits: { memory: '1Gi' } })),
      'components.api.resources.requests.memory',
      'components.api.resources.requests.memory: must be a Kubernetes quantity',
      '"512Mi"',
    );
  });

  it('bad cron schedule', () => {
    expectSingleProblem(
      rejected((s) => (s.components.worker.schedule = 'every day')),
      'components.worker.schedule',
      'components.worker.schedule: must be a five-field cron expression',
      '"0 0 * * *"',
    );
  });

  it('secret-looking variable in env', () => {
    expectSingleProblem(
      rejected((s) => (s.components.api.env.DB_PASSWORD = 'hunter2')),
      'components.api.env.DB_PASSWORD',
      'components.api.env.DB_PASSWORD: looks like a secret; move it to secretEnv',
      'DB_PASSWORD: my-secret/db-password',
    );
  });

  it('empty databases list', () => {
    expectSingleProblem(
      rejected((s) => (s.components.postgres.databases = [])),
      'components.postgres.databases',
      'components.postgres.databases: must list at least one database',
    );
  });
});

describe('relations', () => {
  it('uses an unknown component', () => {
    expectSingleProblem(
      rejected((s) => s.components.api.uses.push('cache')),
      'components.api.uses[2].to',
      'refers to "cache", which is not a component',
      'have: api, worker, migrate, postgres, redis',
    );
  });

  it('uses a job (must say to use "after")', () => {
    expectSingleProblem(
      rejected((s) => s.components.api.uses.push('migrate')),
      'components.api.uses[2].to',
      '"migrate" is a job',
      'wait for jobs with "after"',
    );
  });

  it('database that the target does not have', () => {
    expectSingleProblem(
      rejected((s) => (s.components.worker.uses[0].database = 'analytics')),
      'components.worker.uses[0].database',
      'components.worker.uses[0].database: "analytics" is not a database of postgres (have: app)',
    );
  });

  it('access on a redis target', () => {
    expectSingleProblem(
      rejected((s) => (s.components.api.uses[1] = { to: 'redis', access: 'read-only' })),
      'components.api.uses[1].access',
      'applies to postgres',
      '"redis" is redis',
    );
  });

  it('redisDb on a postgres target', () => {
    expectSingleProblem(
      rejected((s) => (s.components.api.uses[0] = { to: 'postgres', redisDb: 1 })),
      'components.api.uses[0].redisDb',
      'components.api.uses[0].redisDb: applies to redis, but "postgres" is postgres',
    );
  });

  it('two relations deriving the same connection variable', () => {
    expectSingleProblem(
      rejected((s) => s.components.worker.uses.push({ to: 'postgres' })),
      'components.worker.uses[1].env',
      'components.worker.uses[1].env: DATABASE_URL is already set by uses[0]',
      'another "env" name',
    );
  });

  it('env variable that a relation already derives', () => {
    expectSingleProblem(
      rejected((s) => (s.components.api.env.REDIS_URL = 'redis://localhost:6379/0')),
      'components.api.env.REDIS_URL',
      'components.api.env.REDIS_URL: is derived from uses[1]; remove it from env',
    );
  });
});

describe('after', () => {
  it('after pointing at something that is not a job', () => {
    expectSingleProblem(
      rejected((s) => (s.components.api.after = ['postgres'])),
      'components.api.after[0]',
      'components.api.after[0]: "postgres" is a postgres; only jobs can be waited for',
      'use "uses" for services',
    );
  });

  it('cycle between two jobs', () => {
    const err = rejected((s) => {
      s.components.seed = { kind: 'job', image: 'ghcr.io/acme/shop-api:1.0.0', after: ['migrate'] };
      s.components.migrate.after = ['seed'];
    });
    expectSingleProblem(err, 'components.migrate.after', 'forms a cycle');
    // The message must show the cycle itself, not the component the search started from.
    expect(err.message).toMatch(/forms a cycle: migrate -> seed -> migrate$/m);
  });
});

describe('workers', () => {
  it('continuous worker without healthPort', () => {
    expectSingleProblem(
      rejected((s) => {
        const w = s.components.worker;
        w.mode = 'continuous';
        delete w.schedule;
        w.healthPath = '/health';
      }),
      'components.worker.healthPort',
      'components.worker.healthPort: is required when mode is continuous',
    );
  });

  it('schedule on a continuous worker', () => {
    expectSingleProblem(
      rejected((s) => Object.assign(s.components.worker, { mode: 'continuous', healthPort: 8080, healthPath: '/health' })),
      'components.worker.schedule',
      'components.worker.schedule: applies only to mode scheduled',
    );
  });
});

describe('postgres and pgadmin', () => {
  it('external postgres with backup enabled', () => {
    expectSingleProblem(
      rejected((s) => Object.assign(s.components.postgres, { image: undefined, external: { host: 'db.example.com' }, backup: { enabled: true } })),
      'components.postgres.backup.enabled',
      'backups run only for an in-cluster server',
    );
  });

  it('accepts logins and databases with capitals and "-", kept as written', () => {
    const spec = parseSpec(
      variant((s) => {
        s.components.postgres.databases = [{ name: 'Sales-EU', owner: 'yourUser' }, { name: 'postgres', owner: 'yourUser' }];
        s.components.worker.uses = [{ to: 'postgres', database: 'Sales-EU', access: 'read-only' }];
      }),
      SOURCE,
    );
    expect(spec.components.postgres).toMatchObject({ databases: [{ name: 'Sales-EU', owner: 'yourUser' }, { name: 'postgres', owner: 'yourUser' }] });
  });

  it.each([
    ['a quote', 'app"; DROP ROLE app; --'],
    ['a space', 'my app'],
    ['a NUL', 'app\u0000'],
    ['a dot', 'my.app'],
    ['a leading digit', '2fa'],
    ['64 characters', 'a'.repeat(64)],
    ['nothing', ''],
  ])('a database owner with %s', (_, owner) => {
    expectSingleProblem(
      rejected((s) => (s.components.postgres.databases[0].owner = owner)),
      'components.postgres.databases[0].owner',
      'must be a PostgreSQL name: 1 to 63 letters, digits, "_" or "-", starting with a letter or "_"',
    );
  });

  it('a database name with a quote, and a relation to it', () => {
    expectSingleProblem(rejected((s) => (s.components.postgres.databases[0].name = "app'x")), 'components.postgres.databases[0].name', 'must be a PostgreSQL name');
    expectSingleProblem(rejected((s) => (s.components.worker.uses[0].database = 'app db')), 'components.worker.uses[0].database', 'must be a PostgreSQL name');
  });

  it.each(['public', 'none', 'pg_app'])('a login PostgreSQL reserves (%s)', (owner) => {
    expectSingleProblem(rejected((s) => (s.components.postgres.databases[0].owner = owner)), 'components.postgres.databases[0].owner', 'is a name PostgreSQL reserves');
  });

  it('two logins of one server that differ only in case (or "_" versus "-") would share a Secret', () => {
    expectSingleProblem(
      rejected((s) => s.components.postgres.databases.push({ name: 'audit', owner: 'App' })),
      'components.postgres.databases[1].owner',
      'login "App" and login "app" (components.postgres.databases[0].owner) would share the Secret postgres-user-app',
      'may not differ only in case',
    );
    expectSingleProblem(
      rejected((s) => {
        s.components.postgres.databases.push({ name: 'audit', owner: 'app-ro' });
        s.components.worker.uses = [{ to: 'postgres', access: 'read-only' }];
      }),
      'components.worker.uses[0].access',
      'login "app_ro" and login "app-ro" (components.postgres.databases[1].owner) would share the Secret postgres-user-app-ro',
    );
  });

  it('a read-only login that also owns a database, or would be too long', () => {
    expectSingleProblem(
      rejected((s) => {
        s.components.postgres.databases.push({ name: 'audit', owner: 'app_ro' });
        s.components.worker.uses = [{ to: 'postgres', access: 'read-only' }];
      }),
      'components.worker.uses[0].access',
      'the read-only login "app_ro" also owns a database (components.postgres.databases[1].owner)',
    );
    expectSingleProblem(
      rejected((s) => {
        s.components.postgres.databases = [{ name: 'a'.repeat(61), owner: 'app' }];
        s.components.worker.uses = [{ to: 'postgres', access: 'read-only' }];
      }),
      'components.worker.uses[0].access',
      'longer than PostgreSQL\'s 63 characters: shorten the database name to at most 60',
    );
  });

  it('pgadmin server pointing at redis', () => {
    expectSingleProblem(
      rejected((s) => (s.components.pgadmin = { kind: 'pgadmin', servers: ['redis'] })),
      'components.pgadmin.servers[0]',
      'components.pgadmin.servers[0]: "redis" is not a postgres component',
    );
  });
});

describe('external servers', () => {
  const externalRedis = (extra: Draft = {}) => (s: Draft) => (s.components.redis = { kind: 'redis', external: { host: 'cache.example.net' }, ...extra });

  it('accepts an external redis with a password or without one', () => {
    for (const password of [true, false]) expect(() => parseSpec(variant(externalRedis({ password })), SOURCE)).not.toThrow();
  });

  it.each([
    ['image', { image: 'redis:7.4' }],
    ['maxMemory', { maxMemory: '128mb' }],
    ['storage', { storage: '1Gi' }],
    ['cache', { cache: true }],
    ['evictionPolicy', { evictionPolicy: 'allkeys-lru' }],
    ['runAsUser', { runAsUser: 10999 }],
  ])('external redis with %s', (field, extra) => {
    expectSingleProblem(
      rejected(externalRedis(extra)),
      `components.redis.${field}`,
      'applies to a redis run in the cluster, but this one is external (cache.example.net:6379): remove it, or remove external',
    );
  });

  it('external postgres with an image or a storage size', () => {
    const err = rejected((s) => Object.assign(s.components.postgres, { external: { host: 'db.example.com', port: 6432 }, storage: '5Gi' }));
    expect(err.issues.map((i) => i.path.join('.'))).toEqual(['components.postgres.image', 'components.postgres.storage']);
    expect(err.message).toContain('components.postgres.image: applies to a postgres run in the cluster, but this one is external (db.example.com:6432)');
  });

  it('external host that is not a host name', () => {
    expectSingleProblem(
      rejected(externalRedis({ external: { host: 'Cache_01.example.net' } })),
      'components.redis.external.host',
      'must be a lower-case host name or IPv4 address such as "db.example.com"',
    );
  });

  it('environment override of what an external server does not run', () => {
    const err = rejected((s) => {
      externalRedis()(s);
      s.environments = { prod: { components: { redis: { storage: '4Gi', image: 'redis:7.4' } } } };
    });
    expect(err.issues.map((i) => i.path.join('.')).sort()).toEqual(['environments.prod.components.redis.image', 'environments.prod.components.redis.storage']);
    expect(err.message).toContain('environments.prod.components.redis.storage: redis is an external redis (cache.example.net): nothing of it runs here, so there is nothing to change');
  });
});

describe('environment overrides', () => {
  it('override for an unknown component', () => {
    expectSingleProblem(
      rejected((s) => (s.environments = { prod: { components: { cache: { replicas: 2 } } } })),
      'environments.prod.components.cache',
      'environments.prod.components.cache: refers to "cache", which is not a component',
    );
  });

  it('override field that does not apply (storage on web)', () => {
    expectSingleProblem(
      rejected((s) => (s.environments = { prod: { components: { api: { storage: '10Gi' } } } })),
      'environments.prod.components.api.storage',
      'environments.prod.components.api.storage: cannot be set on a web component (applies to postgres, redis)',
    );
  });

  it('disabled component that another one still uses', () => {
    const spec = parseSpec(variant((s) => (s.environments = { prod: { components: { redis: { enabled: false } } } })), SOURCE);
    // Other environments keep redis and resolve fine.
    expect(resolveStack(spec, 'kind', SOURCE).components.redis).toBeDefined();
    expect(() => resolveStack(spec, 'prod', SOURCE)).toThrow(SpecError);
    expect(() => resolveStack(spec, 'prod', SOURCE)).toThrow(
      `${SOURCE}: components.api.uses[1]: uses "redis", which is disabled in environment prod`,
    );
  });
});

describe('several problems at once', () => {
  it('reports every schema problem with its count', () => {
    const err = rejected((s) => {
      s.version = 2;
      s.components.api.port = 70000;
      s.components.api.image = 'ghcr.io/acme/Shop-API:1.0';
    });
    expect(err.issues).toHaveLength(3);
    expect(err.message).toContain(`Invalid stack spec in ${SOURCE} (3 problems):`);
    expect(err.message).toContain('components.api.port: must be a port number from 1 to 65535');
    expect(err.message).toContain('components.api.image: must be a container image reference');
    expect(err.message).toContain('version: unknown field');
    expect(err.message.split('\n').filter((l) => l.startsWith('  - '))).toHaveLength(3);
  });

  it('reports every cross-field problem with its count', () => {
    const err = rejected((s) => {
      s.components.api.after = ['postgres'];
      s.components.api.uses.push('cache');
      s.components.pgadmin = { kind: 'pgadmin', servers: ['redis'] };
    });
    expect(err.message).toContain(`Invalid stack spec in ${SOURCE} (3 problems):`);
    expect(err.message).toContain('components.api.uses[2]');
    expect(err.message).toContain('components.api.after[0]');
    expect(err.message).toContain('components.pgadmin.servers[0]');
  });
});

describe('messages that must describe the value, not just the type', () => {
  it('a value of the wrong type is not reported as missing', () => {
    const err = rejected((s) => (s.components.api.port = '8000'));
    expectSingleProblem(err, 'components.api.port', 'components.api.port: expected number', '"8000"');
    expect(err.message).not.toContain('is required');
  });

  it('an enum value outside the allowed set names the value given', () => {
    const err = rejected((s) => (s.components.api.role = 'backend'));
    expectSingleProblem(err, 'components.api.role', 'components.api.role: must be one of "api", "dashboard", got "backend"');
    expect(err.message).not.toContain('undefined');
  });

  it('a component name that is not a DNS label says so', () => {
    const err = rejected((s) => {
      s.components.Api = s.components.api;
      delete s.components.api;
    });
    expectSingleProblem(err, 'components.Api', 'components.Api: must be a DNS label');
  });

  it('a bad field inside a relation names that field', () => {
    const err = rejected((s) => (s.components.worker.uses[0].access = 'ro'));
    expectSingleProblem(err, 'components.worker.uses[0].access', 'components.worker.uses[0].access: must be one of "read-write", "read-only"');
  });
});
