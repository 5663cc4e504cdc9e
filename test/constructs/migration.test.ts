import { describe, expect, it } from 'vitest';
import { container, envOf, find, manifests, manifestsOf, podSpec } from '../support/manifests';

describe('Migration', () => {
  const job = find(manifests(), 'Job', 'migrate');

  it('runs alembic upgrade head once, with bounded retries and run time, retrying in the same pod', () => {
    expect(container(job).command).toEqual(['alembic', 'upgrade', 'head']);
    expect(job.spec).toMatchObject({ backoffLimit: 3, activeDeadlineSeconds: 600, ttlSecondsAfterFinished: 3600 });
    // A new pod's first connections may be refused while its NetworkPolicy is programmed; a retry in the same pod is not.
    expect(podSpec(job).restartPolicy).toBe('OnFailure');
  });

  it('waits for the database to accept connections before alembic runs, with the database image', () => {
    const inits = podSpec(job).initContainers;
    expect(inits.map((c: any) => c.name)).toEqual(['wait-for-postgres']);
    expect(inits[0].image).toBe('postgres:16.4');
    expect(inits[0].command[2]).toContain('pg_isready -h postgres -p 5432 -U postgres -d postgres -t 3');
  });

  it('is labelled for replacement on apply, since a Job template is immutable', () => {
    expect(job.metadata.labels['stackport.dev/replace-on-apply']).toBe('true');
    expect(podSpec(job).containers[0]).toBeDefined();
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
