/** A Sealed Secrets controller's key pair for tests, and the reference stack sealing its prod Secrets. */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { defineStack } from '../../model/load';
import { referenceStack } from '../../model/reference';
import type { StackSpec } from '../../model/schema';

/** The reference stack with `environments.prod.secrets` set (sealed-secrets by default). */
export function sealedStack(secrets: Record<string, unknown> = { provider: 'sealed-secrets' }): StackSpec {
  return defineStack({ ...(referenceStack as any), environments: { ...referenceStack.environments, prod: { ...referenceStack.environments!.prod, secrets } } });
}

export interface ControllerKeys {
  readonly dir: string;
  /** PKCS#8 PEM private key, what the controller keeps. */
  readonly key: string;
  /** Self-signed PEM certificate, what `kubeseal --fetch-cert` prints. */
  readonly cert: string;
}

/** An RSA key and a self-signed certificate for it, like the controller's (4096 bits, as upstream's). */
export function controllerKeys(bits = 4096): ControllerKeys {
  const dir = mkdtempSync(join(tmpdir(), 'stackport-sealed-'));
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  writeFileSync(key, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  execFileSync('openssl', ['req', '-x509', '-new', '-key', key, '-out', cert, '-days', '30', '-subj', '/O=sealed-secret/CN=sealed-secret'], { stdio: 'pipe' });
  return { dir, key, cert };
}

/** The documents of a YAML file. */
export function docsOf(file: string): any[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS()).filter(Boolean);
}
