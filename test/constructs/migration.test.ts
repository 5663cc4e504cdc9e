import { describe, expect, it } from 'vitest';
import { container, envOf, find, manifests, manifestsOf, podSpec } from '../support/manifests';
import { withImages } from '../../model/images';
import { referenceStack } from '../../model/reference';

describe('Migration', () => {
  const job = find(manifests(), 'Job', 'migrate');

  it('runs alembic upgrade head once, with bounded retries and run time, retrying in the same pod', () => {
    expect(container(job).command).toEqual(['alembic', 'upgrade', 'head']);
    expect(job.spec).toMatchObject({ backoffLimit: 3, activeDeadlineSeconds: 600 });
    // Kept until a new release replaces it: a GitOps tool would re-create (and re-run) a Job a TTL deleted.
    expect(job.spec.ttlSecondsAfterFinished).toBeUndefined();
    // A new pod's first connections may be refused while its NetworkPolicy is programmed; a retry in the same pod is not.
    expect(podSpec(job).restartPolicy).toBe('OnFailure');
  });

  it('waits for the database to accept connections before alembic runs, with the database image', () => {
    const inits = podSpec(job).initContainers;
    expect(inits.map((c: any) => c.name)).toEqual(['wait-for-postgres']);
    expect(inits[0].image).toBe('postgres:16.4');
    expect(inits[0].command[2]).toContain('pg_isready -h postgres -p 5432 -U postgres -d postgres -t 3');
  });

  it('is named after a hash of its spec: a new release is a new Job, the same release the same Job', () => {
    expect(job.metadata.name).toMatch(/^migrate-[0-9a-f]{8}$/);
    expect(job.metadata.labels['stackport.dev/release-job']).toBe('migrate');
    expect(find(manifests(), 'Job', 'migrate').metadata.name).toBe(job.metadata.name);
    const released = find(manifests(withImages(referenceStack, ['migrate=ghcr.io/acme/dataplatform-api:1.5.0'])), 'Job', 'migrate');
    expect(released.metadata.name).toMatch(/^migrate-[0-9a-f]{8}$/);
    expect(released.metadata.name).not.toBe(job.metadata.name);
    // An environment's settings are part of the spec too.
    expect(find(manifests(undefined, 'prod'), 'Job', 'migrate').metadata.name).not.toBe(job.metadata.name);
  });

  it('keeps a long component name within 63 characters', () => {
    const long = 'a'.repeat(63);
    const objs = manifestsOf({ name: 'shop', components: { db: { kind: 'postgres', databases: [{ name: 'shop', owner: 'shop' }] }, [long]: { kind: 'job', image: 'ghcr.io/acme/shop:1.0.0', uses: ['db'] } } });
    expect(find(objs, 'Job', long).metadata.name).toMatch(new RegExp(`^a{54}-[0-9a-f]{8}$`));
  });

  it('connects as the database owner', () => {
    expect(envOf(container(job)).DATABASE_URL).toBe('postgresql://app:$(DATABASE_PASSWORD)@postgres:5432/app');
  });

  it('defaults to alembic and uses a custom completion check for waiting components', () => {
    const objs = manifestsOf({
      name: 'shop',
      components: {
        db: { kind: 'postgres', databases: [{ name: 'shop', owner: 'shop' }] },
        seed: { kind: 'job', image: 'ghcr.io/acme/shop:1.0.0', completionCheck: ['python', '-m', 'shop.seeded'], uses: ['db'] },
        web: { kind: 'web', image: 'ghcr.io/acme/shop:1.0.0', port: 8080, healthPath: '/ok', after: ['seed'], uses: ['db'] },
      },
    });
    expect(container(find(objs, 'Job', 'seed')).command).toEqual(['alembic', 'upgrade', 'head']);
    const wait = container(find(objs, 'Deployment', 'web'), 'wait-for-seed');
    expect(wait.command[2]).toContain('until out=$(python -m shop.seeded 2>&1); do');
    expect(wait.command[2]).toContain('gave up after 900s waiting for seed to complete');
    expect(envOf(wait).DATABASE_URL).toBe('postgresql://shop:$(DATABASE_PASSWORD)@db:5432/shop');
  });
});
