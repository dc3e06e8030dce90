/**
 * One API key: its attributes, the RouteConfig it is attached to, its bring-your-own-key backends by name
 * (never a credential), its status conditions in Kubernetes mode, and the enable/disable control
 * (PATCH /api/v1/keys/{name}).
 */
import { useState } from 'preact/hooks';
import { get, segment, send } from '../api/client.ts';
import type { ApiKey, Session } from '../api/types.ts';
import { Conditions } from '../components/conditions.tsx';
import { ErrorBox } from '../components/error-box.tsx';
import { Link } from '../components/link.tsx';
import { useApi } from '../components/use-api.ts';

export function KeyPage({ name, session }: { name: string; session: Session }) {
  const key = useApi(() => get<{ key: ApiKey }>(`keys/${segment(name)}`), [name]);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const k = key.data?.key;
  const toggle = async () => {
    if (k === undefined) return;
    setBusy(true);
    setError(undefined);
    try {
      await send('PATCH', `keys/${segment(name)}`, { enabled: !k.enabled });
      key.reload();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" aria-labelledby="page-title">
      <p>
        <Link href="/keys">All keys</Link>
      </p>
      <h1 id="page-title">API key {name}</h1>
      <ErrorBox error={key.error ?? error} />
      {k ? (
        <>
          <dl class="facts">
            <dt>State</dt>
            <dd>{k.enabled ? 'enabled' : 'disabled'}</dd>
            <dt>RouteConfig</dt>
            <dd>
              <Link href={`/routing/${segment(k.routeConfig)}`}>{k.routeConfig}</Link>
            </dd>
            <dt>Own backends (bring your own key)</dt>
            <dd>{k.backends.join(', ') || 'none: the backends’ own credentials are used'}</dd>
          </dl>
          <h2>Attributes</h2>
          {Object.keys(k.attributes).length === 0 ? (
            <p>None.</p>
          ) : (
            <table>
              <caption class="visually-hidden">Attributes of {name}</caption>
              <thead>
                <tr>
                  <th scope="col">Attribute</th>
                  <th scope="col">Value</th>
                </tr>
              </thead>
              <tbody>
                {Object.entries(k.attributes).map(([n, v]) => (
                  <tr key={n}>
                    <th scope="row">{n}</th>
                    <td>{v}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <Conditions status={k} of={`API key ${name}`} />
          {session.readOnly ? null : (
            <button type="button" onClick={toggle} disabled={busy}>
              {k.enabled ? `Disable ${name}` : `Enable ${name}`}
            </button>
          )}
        </>
      ) : null}
    </main>
  );
}
