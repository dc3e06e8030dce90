/**
 * API keys: the list (GET /api/v1/keys) and the create form (POST /api/v1/keys). The console generates
 * the key's secret and stores it as a Secret; the answer to the create is the only time the secret
 * leaves the server, so it is shown once, here, until the page is left, and never kept.
 */
import { useState } from 'preact/hooks';
import { get, segment, send } from '../api/client.ts';
import type { ApiKey, CreatedKey, RouteConfigSummary, Session } from '../api/types.ts';
import { ErrorBox } from '../components/error-box.tsx';
import { TextField } from '../components/field.tsx';
import { Link } from '../components/link.tsx';
import { useApi } from '../components/use-api.ts';
import { parseAttributes } from '../keys/attributes.ts';

export function KeysPage({ session }: { session: Session }) {
  const keys = useApi(() => get<{ data: ApiKey[] }>('keys'), []);
  const [created, setCreated] = useState<CreatedKey | undefined>(undefined);
  return (
    <main id="main" aria-labelledby="page-title">
      <h1 id="page-title">API keys</h1>
      <ErrorBox error={keys.error} />
      <div class="table-wrap">
        <table>
          <caption class="visually-hidden">Gateway keys</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">State</th>
              <th scope="col">RouteConfig</th>
              <th scope="col">Attributes</th>
              <th scope="col">Own backends</th>
            </tr>
          </thead>
          <tbody>
            {(keys.data?.data ?? []).map((k) => (
              <tr key={k.name}>
                <th scope="row">
                  <Link href={`/keys/${segment(k.name)}`}>{k.name}</Link>
                </th>
                <td>{k.enabled ? 'enabled' : 'disabled'}</td>
                <td>{k.routeConfig}</td>
                <td>
                  {Object.entries(k.attributes)
                    .map(([n, v]) => `${n}=${v}`)
                    .join(', ') || '—'}
                </td>
                <td>{k.backends.join(', ') || '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {created ? <NewSecret created={created} onDismiss={() => setCreated(undefined)} /> : null}
      {session.readOnly ? (
        <p class="note">This console is read-only: keys are managed in the configuration source.</p>
      ) : (
        <CreateKey
          onCreated={(c) => {
            setCreated(c);
            keys.reload();
          }}
        />
      )}
    </main>
  );
}

function NewSecret({ created, onDismiss }: { created: CreatedKey; onDismiss: () => void }) {
  return (
    <section class="secret" aria-labelledby="new-secret-title" role="alert">
      <h2 id="new-secret-title">Key {created.key.name} created</h2>
      <p>Copy the secret now: it is shown this once and cannot be read again.</p>
      <label for="new-secret">Secret of {created.key.name}</label>
      <input
        id="new-secret"
        readOnly
        value={created.secret}
        onFocus={(e) => (e.currentTarget as HTMLInputElement).select()}
      />
      <button type="button" onClick={onDismiss}>
        I have copied it
      </button>
    </section>
  );
}

function CreateKey({ onCreated }: { onCreated: (created: CreatedKey) => void }) {
  const routeConfigs = useApi(() => get<{ data: RouteConfigSummary[] }>('routeconfigs'), []);
  const [name, setName] = useState('');
  const [routeConfig, setRouteConfig] = useState('');
  const [attributes, setAttributes] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    const parsed = parseAttributes(attributes);
    if ('problem' in parsed) {
      setError(new Error(parsed.problem));
      return;
    }
    setBusy(true);
    try {
      const chosen = routeConfig || routeConfigs.data?.data[0]?.name || '';
      const body = {
        name: name.trim(),
        routeConfig: chosen,
        ...(Object.keys(parsed.attributes).length > 0 ? { attributes: parsed.attributes } : {}),
      };
      onCreated(await send<CreatedKey>('POST', 'keys', body));
      setName('');
      setAttributes('');
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="create" onSubmit={submit} aria-labelledby="create-key-title">
      <h2 id="create-key-title">Create a key</h2>
      <TextField id="key-name" label="Name" value={name} placeholder="team-c" required onInput={setName} />
      <div class="field">
        <label for="key-routeconfig">RouteConfig</label>
        <select
          id="key-routeconfig"
          value={routeConfig}
          onChange={(e) => setRouteConfig((e.currentTarget as HTMLSelectElement).value)}
        >
          {(routeConfigs.data?.data ?? []).map((rc) => (
            <option key={rc.name} value={rc.name}>
              {rc.name}
            </option>
          ))}
        </select>
      </div>
      <TextField
        id="key-attributes"
        label="Attributes"
        value={attributes}
        placeholder="tenant=team-c, residency=eu"
        hint="name=value pairs, comma-separated; usable in route match conditions"
        onInput={setAttributes}
      />
      <div class="actions">
        <button type="submit" disabled={busy}>
          Create key
        </button>
      </div>
      <ErrorBox error={error ?? routeConfigs.error} />
    </form>
  );
}
