/** The translator's readers: health checks, durations, nginx and Traefik configuration, sizes. */
import { describe, expect, it } from 'vitest';
import { httpCheck, seconds } from '../../importer/translate/health';
import { readNginx } from '../../importer/translate/nginx';
import { parseRule, traefikRoutes } from '../../importer/translate/traefik';
import { cpuQuantity, memoryQuantity } from '../../importer/translate/workloads';
import { imageBase } from '../../importer/translate/classify';

describe('health checks', () => {
  it.each([
    [['curl', '-f', 'http://localhost:8000/health'], { path: '/health', port: 8000 }],
    [['curl -fsS http://127.0.0.1:5000/healthz || exit 1'], { path: '/healthz', port: 5000 }],
    [['wget', '-qO-', 'http://localhost:9100/'], { path: '/', port: 9100 }],
    [['python', '-c', "import urllib.request; urllib.request.urlopen('http://localhost:8000/health')"], { path: '/health', port: 8000 }],
  ])('%j is an HTTP GET', (words, expected) => {
    expect(httpCheck(words as string[])).toEqual(expected);
  });

  it.each([[['pg_isready', '-U', 'app']], [['curl -f http://localhost:8000/health && test -f /tmp/ready']], [['curl', '-f', 'http://api:8000/health']]])('%j is not', (words) => {
    expect(httpCheck(words)).toBeUndefined();
  });

  it('reads compose durations in whole seconds', () => {
    expect([seconds('1m30s'), seconds('500ms'), seconds('2h'), seconds(10), seconds('soon')]).toEqual([90, 1, 7200, 10, undefined]);
  });
});

describe('sizes', () => {
  it('turns compose cpus and memory into Kubernetes quantities', () => {
    expect([cpuQuantity('0.5'), cpuQuantity(2), cpuQuantity('x')]).toEqual(['500m', '2', undefined]);
    expect([memoryQuantity('512M'), memoryQuantity('1gb'), memoryQuantity('2G'), memoryQuantity(1048576), memoryQuantity('lots')]).toEqual(['512Mi', '1Gi', '2Gi', '1048576', undefined]);
  });

  it('knows images by their base name', () => {
    expect([imageBase('docker.io/library/postgres:16.4'), imageBase('bitnami/postgresql@sha256:abc'), imageBase('registry:5000/team/redis:7')]).toEqual(['postgres', 'postgresql', 'redis']);
  });
});

describe('nginx', () => {
  const conf = `
    upstream backend { server api:8000; }
    limit_req_zone $binary_remote_addr zone=one:10m rate=5r/s;
    server { listen 80; server_name shop.example.com; return 301 https://$host$request_uri; }
    server {
      listen 443 ssl http2; server_name shop.example.com www.shop.example.com;
      limit_req zone=one burst=15;
      location /api/ { proxy_pass http://backend/; }
      location / { proxy_pass http://web:3000; }
      location ~ \\.php$ { proxy_pass http://php:9000; }
      location /static { root /srv; }
    }`;

  it('finds TLS, hosts, routes (through upstreams), prefix stripping and the rate limit', () => {
    const n = readNginx(conf);
    expect(n.tls).toBe(true);
    expect(n.serverNames).toEqual(['shop.example.com', 'www.shop.example.com']);
    expect(n.routes).toEqual([
      { host: 'api', path: '/api', port: 8000, serverName: 'shop.example.com', strips: true },
      { host: 'web', path: '/', port: 3000, serverName: 'shop.example.com', strips: false },
    ]);
    expect(n.rateLimit).toEqual({ average: 5, burst: 15 });
    expect(n.notes).toEqual(['regular-expression location ~ \\.php$ is not translated', 'location /static serves no compose service; not translated']);
  });
});

describe('Traefik', () => {
  it('reads Host and PathPrefix rules', () => {
    expect(parseRule('Host(`a.example.com`) && PathPrefix(`/api/`)')).toEqual({ host: 'a.example.com', path: '/api', other: false });
    expect(parseRule('Host(`a.example.com`) || Host(`b.example.com`)')).toMatchObject({ host: 'a.example.com', path: '/', other: true });
  });

  it('reads routes, ports, rate limits and stripped prefixes from labels', () => {
    const t = traefikRoutes({
      'traefik.http.routers.r.rule': 'PathPrefix(`/x`)',
      'traefik.http.routers.r.middlewares': 'strip,limit',
      'traefik.http.middlewares.strip.stripprefix.prefixes': '/x',
      'traefik.http.middlewares.limit.ratelimit.average': '50',
      'traefik.http.middlewares.auth.basicauth.users': 'u:p',
      'traefik.http.services.s.loadbalancer.server.port': '8080',
    });
    expect(t.routes).toEqual([{ router: 'r', host: undefined, path: '/x', port: 8080, strips: true }]);
    expect(t.rateLimit).toEqual({ average: 50, burst: 20 });
    expect(t.notes).toEqual(['traefik.http.middlewares.auth.basicauth.users: middleware basicauth is not translated']);
  });
});

describe('nginx configuration on disk', () => {
  it('reads a mounted file or every .conf of a mounted folder', async () => {
    const { mkdtempSync, writeFileSync, mkdirSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const { nginxConfigText } = await import('../../importer/translate/classify');
    const { ProjectFolder } = await import('../../importer/load/project-folder');
    const dir = mkdtempSync(join(tmpdir(), 'stackport-nginx-'));
    mkdirSync(join(dir, 'conf.d'));
    writeFileSync(join(dir, 'conf.d', 'a.conf'), 'server { location / { proxy_pass http://web:3000; } }');
    writeFileSync(join(dir, 'conf.d', 'README'), 'not config');
    const service = (volumes: object[]) => ({ name: 'proxy', file: 'compose.yaml', config: { volumes }, envFiles: [], localOnly: false, job: false });
    expect(nginxConfigText(new ProjectFolder(dir), service([{ type: 'bind', source: join(dir, 'conf.d'), target: '/etc/nginx/conf.d', read_only: true }]))).toContain('proxy_pass http://web:3000');
    expect(nginxConfigText(new ProjectFolder(dir), service([{ type: 'bind', source: join(dir, 'nope'), target: '/etc/nginx/nginx.conf', read_only: true }]))).toBeUndefined();
  });
});
