/**
 * The checks scripts/apply.ts makes against the running stack: a PostgreSQL major version change is
 * refused, a larger volume is planned as claim expansions, a smaller one or one on a class without
 * expansion is refused. The live side is a stand-in answering as kubectl would.
 */
import { describe, expect, it } from 'vitest';
import { bytes, type Live, planStatefulChanges, postgresMajor } from '../ops/stateful-changes';

type Obj = Record<string, any>;

function sts(image: string, storage: string, opts: { postgres?: boolean } = {}): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: 'shop' },
    spec: {
      template: { spec: { containers: [{ name: 'db', image, env: opts.postgres === false ? [] : [{ name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' }] }] } },
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { resources: { requests: { storage } }, storageClassName: 'fast' } }],
    },
  };
}

function live(running: Obj | undefined, expandable = true, claims = ['data-db-0']): Live {
  return {
    statefulSet: (ns, name) => (running && ns === 'shop' && name === 'db' ? running : undefined),
    claims: () => claims.map((name) => ({ metadata: { name }, spec: { storageClassName: 'fast' } })),
    storageClass: (name) => (name === 'fast' ? { metadata: { name }, allowVolumeExpansion: expandable } : undefined),
  };
}

describe('postgresMajor', () => {
  it.each([
    ['postgres:16.4', 16],
    ['postgres:15-alpine', 15],
    ['docker.io/library/postgres:17.2-bookworm@sha256:' + 'a'.repeat(64), 17],
    ['postgis/postgis:16-3.4', 16],
    ['timescale/timescaledb:2.14.2-pg16', 16],
    ['pgvector/pgvector:pg17', 17],
    ['bitnami/postgresql:16.2.0-debian-12-r8', 16],
    ['registry:5000/team/postgres:9.6', 9],
    ['stackport.local/postgres-standin:15', 15],
  ])('%s is PostgreSQL %i', (image, major) => expect(postgresMajor(image)).toBe(major));

  it.each(['postgres', 'postgres:latest', 'postgres:alpine', 'postgres@sha256:' + 'b'.repeat(64), 'timescale/timescaledb:2.14.2', 'registry:5000/postgres'])('%s says no major', (image) =>
    expect(postgresMajor(image)).toBeUndefined(),
  );
});

describe('bytes', () => {
  it('reads the storage quantities a spec uses', () => {
    expect(bytes('2Gi')).toBe(2 * 2 ** 30);
    expect(bytes('512Mi')).toBe(512 * 2 ** 20);
    expect(bytes('1G')).toBe(1e9);
    expect(bytes('1.5Gi')).toBe(1.5 * 2 ** 30);
    expect(bytes('lots')).toBeUndefined();
  });
});

describe('planStatefulChanges', () => {
  it('changes nothing on a first deploy, or when image major and size stay', () => {
    expect(planStatefulChanges([sts('postgres:16.4', '2Gi')], live(undefined))).toEqual({ refusals: [], expansions: [] });
    expect(planStatefulChanges([sts('postgres:16.6', '2Gi')], live(sts('postgres:16.4', '2048Mi')))).toEqual({ refusals: [], expansions: [] });
  });

  it('refuses a PostgreSQL major change, naming both versions, the field and the way through', () => {
    const plan = planStatefulChanges([sts('postgres:16.4', '2Gi')], live(sts('postgres:15.8', '2Gi')));
    expect(plan.expansions).toEqual([]);
    expect(plan.refusals).toHaveLength(1);
    expect(plan.refusals[0]).toMatch(/^StatefulSet shop\/db: its data directory was made by PostgreSQL 15 \(postgres:15\.8\) and the spec now runs postgres:16\.4 \(PostgreSQL 16\)/);
    expect(plan.refusals[0]).toContain('components.db.image');
    expect(plan.refusals[0]).toContain('pg_restore');
  });

  it('leaves other servers and unknown tags alone', () => {
    expect(planStatefulChanges([sts('redis:7.4', '1Gi', { postgres: false })], live(sts('redis:7.2', '1Gi', { postgres: false }))).refusals).toEqual([]);
    expect(planStatefulChanges([sts('postgres:latest', '2Gi')], live(sts('postgres:15.8', '2Gi'))).refusals).toEqual([]);
  });

  it('plans a larger volume as an expansion of every claim of the template', () => {
    const plan = planStatefulChanges([sts('postgres:16.4', '5Gi')], live(sts('postgres:16.4', '2Gi'), true, ['data-db-0', 'data-db-1']));
    expect(plan).toEqual({ refusals: [], expansions: [{ namespace: 'shop', statefulSet: 'db', claims: ['data-db-0', 'data-db-1'], template: 'data', from: '2Gi', size: '5Gi' }] });
  });

  it('refuses a smaller volume, and a larger one on a class that does not allow expansion', () => {
    expect(planStatefulChanges([sts('postgres:16.4', '1Gi')], live(sts('postgres:16.4', '2Gi'))).refusals).toEqual([
      'StatefulSet shop/db: volume data would shrink from 2Gi to 1Gi; a claim never shrinks. Keep 2Gi or more.',
    ]);
    const plan = planStatefulChanges([sts('postgres:16.4', '5Gi')], live(sts('postgres:16.4', '2Gi'), false));
    expect(plan.expansions).toEqual([]);
    expect(plan.refusals[0]).toMatch(/volume data would grow from 2Gi to 5Gi, but the StorageClass of data-db-0 \(fast\) does not allow volume expansion/);
  });
});
