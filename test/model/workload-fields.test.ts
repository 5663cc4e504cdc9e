/** Validation of the fields that mount, expose and probe: each mistake is reported at its field. */
import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../model/load';

const base = (component: object, extra: object = {}) => ({ name: 'lab', components: { app: component, db: { kind: 'stateful', image: 'mysql:8.4', ports: [{ name: 'mysql', port: 3306 }] } }, ...extra });
const web = { kind: 'web', image: 'ghcr.io/acme/app:1.0.0', port: 8000 };
const problem = (input: object) => {
  try {
    parseSpec(input, 'lab.yaml');
  } catch (e) {
    return (e as Error).message.split('\n').slice(1).join('\n');
  }
  return 'no problem';
};

describe('workload field validation', () => {
  it.each([
    ['a web component without health path or probe', base(web), 'components.app.healthPath: is required unless probe gives a command, a tcpPort or false'],
    ['an unknown env file', base({ ...web, healthPath: '/', envFrom: ['nope'] }), 'components.app.envFrom[0]: refers to "nope", which is not in envFiles (have: none)'],
    ['an unknown volume', base({ ...web, healthPath: '/', volumes: [{ volume: 'data', path: '/data' }] }, { volumes: { other: {} } }), 'components.app.volumes[0].volume: refers to "data", which is not in volumes (have: other)'],
    ['two mounts on one path', base({ ...web, healthPath: '/', writablePaths: ['/data'], files: { '/data': 'x' } }), 'components.app.files./data: mounts /data, which writablePaths[0] already mounts'],
    ['a relative file path', base({ ...web, healthPath: '/', files: { 'conf.ini': 'x' } }), 'components.app.files.conf.ini: must be an absolute path'],
    ['an extra port named http', base({ ...web, healthPath: '/', extraPorts: [{ name: 'http', port: 9000 }] }), 'components.app.extraPorts[0].name: "http" is already used by the main port'],
    ['a probe on a scheduled worker', base({ kind: 'worker', image: 'ghcr.io/acme/app:1.0.0', probe: false }), 'components.app.probe: applies only to mode continuous'],
    ['a continuous worker without health', base({ kind: 'worker', mode: 'continuous', image: 'ghcr.io/acme/app:1.0.0' }), 'components.app.healthPort: is required when mode is continuous, unless probe gives a command, a tcpPort or false'],
    ['ports on a scheduled worker', base({ kind: 'worker', image: 'ghcr.io/acme/app:1.0.0', ports: [{ name: 'broker', port: 5679 }] }), 'components.app.ports: applies only to mode continuous'],
    ['a worker port on its health port', base({ kind: 'worker', mode: 'continuous', image: 'ghcr.io/acme/app:1.0.0', healthPort: 8080, healthPath: '/', ports: [{ name: 'api', port: 8080 }] }), 'components.app.ports[0].port: 8080 is the health port, which the Service already serves'],
    ['a worker port named health', base({ kind: 'worker', mode: 'continuous', image: 'ghcr.io/acme/app:1.0.0', healthPort: 8080, healthPath: '/', ports: [{ name: 'health', port: 9000 }] }), 'components.app.ports[0].name: "health" is already used by the health port'],
    ['a worker port listed twice', base({ kind: 'worker', mode: 'continuous', image: 'ghcr.io/acme/app:1.0.0', probe: false, ports: [{ name: 'a', port: 9000 }, { name: 'b', port: 9000 }] }), 'components.app.ports[1].port: 9000 is listed twice'],
    ['a use of a worker that serves nothing', { name: 'lab', components: { app: { ...web, healthPath: '/', uses: ['w'] }, w: { kind: 'worker', mode: 'continuous', image: 'ghcr.io/acme/w:1.0.0', probe: false } } }, 'components.app.uses[0].to: "w" is a worker that serves no port: give it ports (or a healthPort)'],
    ['a use of a scheduled worker', { name: 'lab', components: { app: { ...web, healthPath: '/', uses: ['w'] }, w: { kind: 'worker', image: 'ghcr.io/acme/w:1.0.0' } } }, 'components.app.uses[0].to: "w" is a worker that is scheduled and serves no port'],
    ['a connection variable for a worker target', { name: 'lab', components: { app: { ...web, healthPath: '/', uses: [{ to: 'w', env: 'W_URL' }] }, w: { kind: 'worker', mode: 'continuous', image: 'ghcr.io/acme/w:1.0.0', probe: false, ports: [{ name: 'b', port: 5679 }] } } }, 'components.app.uses[0].env: "w" is a worker and gets no connection variable'],
    ['a stateful server without ports', base({ kind: 'stateful', image: 'mongo:7.0', ports: [] }), 'components.app.ports: must list at least one port'],
    ['a connection variable for a stateful target', base({ ...web, healthPath: '/', uses: [{ to: 'db', env: 'DB_URL' }] }), 'components.app.uses[0].env: "db" is stateful and gets no connection variable'],
    ['a secret-looking env file entry', base({ ...web, healthPath: '/' }, { envFiles: { common: { API_TOKEN: 'x' } } }), 'envFiles.common.API_TOKEN: looks like a secret'],
    ['a bad URL scheme', base({ ...web, healthPath: '/', uses: [{ to: 'db', scheme: 'My Scheme' }] }), 'components.app.uses[0].scheme: must be a URL scheme'],
  ])('rejects %s', (_, input, expected) => {
    expect(problem(input)).toContain(expected);
  });

  it('accepts a web component probed by TCP only', () => {
    expect(problem(base({ ...web, probe: { tcpPort: 8000 } }))).toBe('no problem');
  });
});
