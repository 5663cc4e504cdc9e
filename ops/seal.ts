/**
 * Sealing values for the Sealed Secrets controller, byte for byte as kubeseal does for the default
 * strict scope (sealed-secrets pkg/crypto HybridEncrypt, label from v1alpha1.EncryptionLabel):
 *
 *   uint16 big-endian length of the RSA ciphertext || RSA-OAEP-SHA256(session key, label "<namespace>/<name>")
 *   || AES-256-GCM(session key, zero nonce, no additional data) of the value, tag appended
 *
 * base64 (standard) in spec.encryptedData. The session key is fresh for every value, which is why
 * the zero nonce is safe. scripts/configcheck `unseal` decrypts the result with upstream's Unseal.
 */
import { constants, createCipheriv, createPublicKey, type KeyObject, publicEncrypt, randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

export class SealError extends Error {
  override name = 'SealError';
}

/** The strict-scope label: a value unseals only into the Secret of this namespace and name. */
export function sealingLabel(namespace: string, name: string): Buffer {
  return Buffer.from(`${namespace}/${name}`, 'utf8');
}

export function sealValue(key: KeyObject, namespace: string, name: string, value: string | Buffer): string {
  const sessionKey = randomBytes(32);
  const rsa = publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: sealingLabel(namespace, name) }, sessionKey);
  const cipher = createCipheriv('aes-256-gcm', sessionKey, Buffer.alloc(12));
  const sealed = Buffer.concat([cipher.update(value), cipher.final(), cipher.getAuthTag()]);
  const length = Buffer.alloc(2);
  length.writeUInt16BE(rsa.length);
  return Buffer.concat([length, rsa, sealed]).toString('base64');
}

/**
 * The controller's RSA public key from `--cert FILE`: the PEM certificate `kubeseal --fetch-cert`
 * prints (refused once expired, as kubeseal does) or a PEM public key. Anything else is a SealError
 * naming the file and what it should hold.
 */
export function readSealingKey(file: string, now = new Date()): KeyObject {
  const expected = 'expected the PEM certificate of the Sealed Secrets controller (kubeseal --fetch-cert) or its RSA public key';
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SealError(`--cert ${file}: ${code === 'ENOENT' ? 'file not found' : `cannot read it (${code ?? String(e)})`}; ${expected}`);
  }
  const pem = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(text)?.[1];
  let key: KeyObject;
  try {
    if (pem === 'CERTIFICATE') {
      const cert = new X509Certificate(text);
      if (new Date(cert.validTo).getTime() < now.getTime()) throw new SealError(`--cert ${file}: the certificate expired on ${cert.validTo}; fetch the controller's current one (kubeseal --fetch-cert)`);
      key = cert.publicKey;
    } else if (pem === 'PUBLIC KEY' || pem === 'RSA PUBLIC KEY') {
      key = createPublicKey(text);
    } else {
      const found = pem ? `a PEM ${pem}` : 'no PEM block';
      throw new SealError(`--cert ${file}: holds ${found}; ${expected}`);
    }
  } catch (e) {
    if (e instanceof SealError) throw e;
    throw new SealError(`--cert ${file}: not a readable PEM ${pem} (${(e as Error).message}); ${expected}`);
  }
  if (key.asymmetricKeyType !== 'rsa') throw new SealError(`--cert ${file}: holds a ${key.asymmetricKeyType} key; Sealed Secrets seals with RSA (${expected})`);
  return key;
}
