import { Construct } from 'constructs';
import {
  ExternalSecret,
  ExternalSecretSpecSecretStoreRefKind,
  ExternalSecretSpecTargetCreationPolicy,
  ExternalSecretSpecTargetDeletionPolicy,
} from '../imports/external-secrets.io';
import type { ResolvedStack } from '../model/presets';
import { requiredSecrets } from '../model/relations';
import { MANAGED_BY } from './labels';

export interface ExternalSecretsProps {
  readonly stack: ResolvedStack;
}

/** The remote key a Secret is read from. */
export function remoteKeyOf(stack: ResolvedStack, secret: string): string {
  return `${stack.secretStore?.keyPrefix ?? `${stack.name}/`}${secret}`;
}

/**
 * With an environment's `secrets.provider: external-secrets`, one ExternalSecret per Secret the
 * stack needs (the same list `npm run secrets` creates locally), each key a property of one remote
 * key. The operator owns the Secret it writes, but keeps it when the remote key disappears
 * (`deletionPolicy: Retain`): a store mistake must not take a database password from running apps.
 */
export class ExternalSecrets extends Construct {
  readonly externalSecrets: ExternalSecret[] = [];

  constructor(scope: Construct, id: string, props: ExternalSecretsProps) {
    super(scope, id);
    const { stack } = props;
    const store = stack.secretStore;
    if (!store) return;
    const labels = { 'app.kubernetes.io/part-of': stack.name, 'app.kubernetes.io/managed-by': MANAGED_BY };
    for (const req of requiredSecrets(stack.spec)) {
      this.externalSecrets.push(
        new ExternalSecret(this, req.name, {
          metadata: { name: req.name, namespace: stack.namespace, labels },
          spec: {
            refreshInterval: store.refreshInterval ?? '1h',
            secretStoreRef: {
              name: store.store.name,
              kind: store.store.kind === 'SecretStore' ? ExternalSecretSpecSecretStoreRefKind.SECRET_STORE : ExternalSecretSpecSecretStoreRefKind.CLUSTER_SECRET_STORE,
            },
            target: { name: req.name, creationPolicy: ExternalSecretSpecTargetCreationPolicy.OWNER, deletionPolicy: ExternalSecretSpecTargetDeletionPolicy.RETAIN },
            data: req.keys.map((key) => ({ secretKey: key, remoteRef: { key: remoteKeyOf(stack, req.name), property: key } })),
          },
        }),
      );
    }
  }
}
