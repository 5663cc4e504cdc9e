/** findDatabase: what a DB argument of psql, backup and restore means in a stack. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defineStack } from '../../model/load';
import { resolveStack } from '../../model/presets';
import { findDatabase, redisCli } from '../../ops/databases';
import type { Target } from '../../ops/target';
import { refusal } from './refusal';

const spec = defineStack({
  apiVersion: 'stackport.dev/v1alpha1',
  name: 'dataplatform',
  components: {
    postgres: { kind: 'postgres', databases: [{ name: 'app', owner: 'app' }, { name: 'features', owner: 'pipeline' }] },
    analytics: { kind: 'postgres', databases: [{ name: 'warehouse', owner: 'etl' }] },
    legacy: { kind: 'postgres', databases: [{ name: 'crm', owner: 'crm' }], external: { host: 'crm.db.example.com' } },
    redis: { kind: 'redis' },
    sessions: { kind: 'redis', external: { host: 'sessions.example.net' } },
  },
});
const target = (s = spec) => ({ stack: resolveStack(s, 'kind'), specFile: 'stack.yaml', environment: 'kind' }) as unknown as Target;

let notes: string[];
beforeEach(() => {
  notes = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => (notes.push(String(s)), true));
});
afterEach(() => vi.restoreAllMocks());


describe('findDatabase', () => {
  it('a database name finds its server', () => {
    expect(findDatabase(target(), 'features')).toEqual({ component: 'postgres', database: 'features', pod: 'postgres-0' });
    expect(findDatabase(target(), 'warehouse', { requireOne: true })).toEqual({ component: 'analytics', database: 'warehouse', pod: 'analytics-0' });
    expect(notes).toEqual([]);
  });

  it('a server with one database means that one, even where one is required', () => {
    expect(findDatabase(target(), 'analytics', { requireOne: true })).toEqual({ component: 'analytics', database: 'warehouse', pod: 'analytics-0' });
    expect(notes).toEqual([]);
  });

  it('a server with several databases means its first one, with a note', () => {
    expect(findDatabase(target(), 'postgres')).toEqual({ component: 'postgres', database: 'app', pod: 'postgres-0' });
    expect(notes).toEqual(['note: postgres holds app, features; using app\n']);
  });

  it('a server with several databases is refused where one is required (backup, restore)', async () => {
    const e = await refusal(() => findDatabase(target(), 'postgres', { requireOne: true }));
    expect([e.message, e.code]).toEqual(['postgres holds 2 databases (app, features): name the one to use', 2]);
  });

  it.each(['legacy', 'crm'])('an external server (%s) is refused: the tools run in the server pod', async (name) => {
    const e = await refusal(() => findDatabase(target(), name));
    expect([e.message, e.code]).toEqual(['legacy is an external server (crm.db.example.com): connect to it with your own tools', 1]);
  });

  it('an unknown name lists the servers and databases there are', async () => {
    const e = await refusal(() => findDatabase(target(), 'ap'));
    expect([e.message, e.code]).toEqual(['no database "ap" in stack.yaml (kind): expected one of postgres, app, features, analytics, warehouse', 2]);
  });

  it('a stack without PostgreSQL says so', async () => {
    const noPostgres = defineStack({ apiVersion: 'stackport.dev/v1alpha1', name: 'cache', components: { redis: { kind: 'redis' } } });
    expect((await refusal(() => findDatabase(target(noPostgres), 'app'))).message).toBe('no database "app" in stack.yaml (kind): expected one of (none: the stack runs no PostgreSQL)');
  });
});

describe('redisCli', () => {
  it('refuses an external server: redis-cli runs in the server pod', async () => {
    const e = await refusal(() => redisCli(target(), 'sessions', []));
    expect([e.message, e.code]).toEqual(['sessions is an external server (sessions.example.net): connect to it with your own tools', 1]);
  });
});
