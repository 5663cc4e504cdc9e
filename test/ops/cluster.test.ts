/**
 * The stack's laptop cluster against recording stand-ins for kind and k3d: created from the generated
 * config only when absent, left alone when present; the configs themselves against k3d's own schema
 * and the structure kind documents for v1alpha4.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { clusterName, CLUSTER_NAME_MAX, ensureCluster, k3dConfig, k3dConfigYaml, kindConfig, kindConfigYaml, ownContext } from '../../ops/cluster';
import { OpsError } from '../../ops/exec';
import { standIns, type StandIns } from './standins';

let tools: StandIns | undefined;
afterEach(() => {
  tools?.restore();
  tools = undefined;
});

const spec = { name: 'dataplatform' };
const quiet = { log: () => undefined };

describe('cluster names and contexts', () => {
  it('names the cluster after the stack and its context as kind and k3d do', () => {
    expect(clusterName(spec)).toBe('dataplatform');
    expect(ownContext('kind', 'dataplatform')).toBe('kind-dataplatform');
    expect(ownContext('k3d', 'dataplatform')).toBe('k3d-dataplatform');
  });

  it('shortens a long stack name to a DNS label of at most 32 characters that still tells stacks apart', () => {
    const a = clusterName({ name: 'customer-analytics-feature-store-platform-eu' });
    const b = clusterName({ name: 'customer-analytics-feature-store-platform-us' });
    for (const n of [a, b]) {
      expect(n.length).toBeLessThanOrEqual(CLUSTER_NAME_MAX);
      expect(n).toMatch(/^[a-z]([a-z0-9-]*[a-z0-9])?$/);
      expect(n.startsWith('customer-analytics-featur')).toBe(true);
    }
    expect(a).not.toBe(b);
  });
});

describe('generated configs', () => {
  it('k3d: valid against k3d v1alpha5 schema, ports 80/443 on the load balancer, Traefik kept', () => {
    const schema = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'k3d', 'schema.json'), 'utf8'));
    const ajv = new Ajv({ allErrors: true });
    addFormats(ajv);
    const validate = ajv.compile(schema);
    const written = parse(k3dConfigYaml(spec));
    expect(written).toEqual(k3dConfig(spec));
    expect(validate(written), JSON.stringify(validate.errors)).toBe(true);
    expect(written.metadata.name).toBe('dataplatform');
    expect(written.ports).toEqual([
      { port: '80:80', nodeFilters: ['loadbalancer'] },
      { port: '443:443', nodeFilters: ['loadbalancer'] },
    ]);
    expect(JSON.stringify(written)).not.toContain('--disable=traefik');
    // The schema catches what k3d would refuse: an unknown field, a port that is not a string.
    expect(validate({ ...written, port: ['80:80'] })).toBe(false);
    expect(validate({ ...written, ports: [{ port: 80, nodeFilters: ['loadbalancer'] }] })).toBe(false);
  });

  it('k3d: the ports are quoted, so a YAML 1.1 reader does not take 80:80 for a base-60 number', () => {
    expect(k3dConfigYaml(spec)).toContain('- port: "80:80"');
    expect(k3dConfigYaml(spec)).toContain('- port: "443:443"');
  });

  it('kind: a v1alpha4 Cluster with the name and one control-plane node, and no host port mappings', () => {
    const text = kindConfigYaml(spec);
    expect(text).toBe(['kind: Cluster', 'apiVersion: kind.x-k8s.io/v1alpha4', 'name: dataplatform', 'nodes:', '- role: control-plane', ''].join('\n'));
    expect(parse(text)).toEqual(kindConfig(spec));
    expect(text).not.toContain('extraPortMappings');
  });
});

describe('ensureCluster', () => {
  it('kind: absent, so created from the generated config; a second run finds it and creates nothing', () => {
    tools = standIns({
      kind: [
        { match: 'get clusters', stderr: 'No kind clusters found.\n', sh: 'cat "$STATE/clusters" 2>/dev/null' },
        { match: 'create cluster *', sh: 'echo dataplatform >> "$STATE/clusters"' },
      ],
    });
    expect(ensureCluster('kind', spec, quiet)).toEqual({ name: 'dataplatform', context: 'kind-dataplatform', created: true });
    expect(ensureCluster('kind', spec, quiet)).toEqual({ name: 'dataplatform', context: 'kind-dataplatform', created: false });
    const commands = tools.commands();
    expect(commands[0]).toBe('kind get clusters');
    expect(commands[1]).toMatch(/^kind create cluster --config \S+\/kind-config\.yaml --wait 120s$/);
    expect(commands.slice(2)).toEqual(['kind get clusters']);
    expect(tools.configs()).toEqual([kindConfigYaml(spec)]);
  });

  it('kind: a cluster of that name among others is left alone', () => {
    tools = standIns({ kind: [{ match: 'get clusters', stdout: 'kind\ndataplatform\nother\n' }] });
    expect(ensureCluster('kind', spec, quiet).created).toBe(false);
    expect(tools.commands()).toEqual(['kind get clusters']);
  });

  it('k3d: absent from the JSON list, so created with the generated config and --wait', () => {
    tools = standIns({ k3d: [{ match: 'cluster list -o json', stdout: '[{"name":"other","serversCount":1}]\n' }] });
    expect(ensureCluster('k3d', spec, quiet)).toEqual({ name: 'dataplatform', context: 'k3d-dataplatform', created: true });
    const commands = tools.commands();
    expect(commands[0]).toBe('k3d cluster list -o json');
    expect(commands[1]).toMatch(/^k3d cluster create --config \S+\/k3d-config\.yaml --wait$/);
    expect(commands).toHaveLength(2);
    expect(parse(tools.configs()[0])).toEqual(k3dConfig(spec));
  });

  it('k3d: present, so left alone', () => {
    tools = standIns({ k3d: [{ match: 'cluster list -o json', stdout: '[{"name":"dataplatform","serversCount":1}]\n' }] });
    expect(ensureCluster('k3d', spec, quiet).created).toBe(false);
    expect(tools.commands()).toEqual(['k3d cluster list -o json']);
  });

  it('a failed creation is an error naming the cluster', () => {
    tools = standIns({ kind: [{ match: 'create cluster *', stderr: 'ERROR: failed to create cluster: port is already allocated\n', exit: 1 }] });
    expect(() => ensureCluster('kind', spec, quiet)).toThrow(new OpsError('creating kind cluster "dataplatform" failed (kind exit 1); its output is above'));
  });

  it('kind missing from PATH: says where to install it', () => {
    tools = standIns({});
    expect(() => ensureCluster('kind', spec, quiet)).toThrow(/kind not found on PATH: .*https:\/\/kind\.sigs\.k8s\.io/);
  });
});
