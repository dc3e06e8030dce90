import type { LocatedManifest, SecretManifest } from './manifests.ts';

/** A Secret's value for `key`: `stringData` as written, `data` base64-decoded (Kubernetes semantics). */
export function secretString(secret: SecretManifest, key: string): string | undefined {
  const plain = secret.stringData?.[key];
  if (plain !== undefined) return plain;
  const encoded = secret.data?.[key];
  return encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString('utf8');
}

export function secretLookup(manifests: readonly LocatedManifest[]) {
  const secrets = new Map<string, SecretManifest>();
  for (const { manifest } of manifests) {
    if (manifest.kind === 'Secret')
      secrets.set(`${manifest.metadata.namespace}/${manifest.metadata.name}`, manifest);
  }
  return (namespace: string, name: string, key: string): string | undefined => {
    const secret = secrets.get(`${namespace}/${name}`);
    return secret ? secretString(secret, key) : undefined;
  };
}
