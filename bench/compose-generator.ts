/** Compose projects of any size for the import benchmark. */

/**
 * A compose project with `n` services: per ten, a PostgreSQL, a Redis, and web services, continuous
 * workers and scheduled jobs connected to both.
 */
export function generateCompose(n: number): string {
  const lines = ['name: bench', 'services:'];
  const volumes: string[] = [];
  for (let i = 0; i < n; i++) {
    const group = Math.floor(i / 10);
    const pg = `pg${group}`;
    const redis = `redis${group}`;
    const kind = i % 10;
    if (kind === 0) {
      lines.push(`  ${pg}:`, '    image: postgres:16.4', '    environment:', `      POSTGRES_USER: app${group}`, '      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}', '    volumes:', `      - ${pg}-data:/var/lib/postgresql/data`);
      volumes.push(`  ${pg}-data:`);
    } else if (kind === 1) {
      lines.push(`  ${redis}:`, '    image: redis:7.4', '    command: redis-server --appendonly yes --requirepass ${REDIS_PASSWORD}');
    } else {
      const name = `svc${i}`;
      lines.push(`  ${name}:`, `    image: ghcr.io/acme/${name}:1.0.${i}`, '    environment:');
      lines.push(`      DATABASE_URL: postgresql://app${group}:\${POSTGRES_PASSWORD}@${pg}:5432/app${group}`, `      REDIS_URL: redis://:\${REDIS_PASSWORD}@${redis}:6379/${i % 16}`, '      LOG_LEVEL: info');
      if (kind % 3 === 0) lines.push('    restart: "no"', '    labels:', `      kompose.cronjob.schedule: "${i % 60} * * * *"`);
      else if (kind % 3 === 1) lines.push(`    ports: ["${8000 + i}:8000"]`, '    healthcheck:', '      test: ["CMD", "curl", "-f", "http://localhost:8000/health"]');
      lines.push('    depends_on:', `      ${pg}: {condition: service_healthy}`);
    }
  }
  return [...lines, 'volumes:', ...volumes, ''].join('\n');
}

