/**
 * The log-in form, shown when the console requires the admin token and the browser has no session. The
 * token goes to POST /api/v1/session once; the page keeps nothing of it (the field is cleared, the
 * session lives in an HttpOnly cookie).
 */
import { useState } from 'preact/hooks';
import { ApiError } from '../api/client.ts';
import { logIn } from '../api/session.ts';
import type { Session } from '../api/types.ts';

export function LoginPage({ onLoggedIn }: { onLoggedIn: (session: Session) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError('');
    try {
      const session = await logIn(token);
      setToken('');
      onLoggedIn(session);
    } catch (e) {
      setToken('');
      setError(
        e instanceof ApiError && e.status === 401
          ? 'That is not the admin token.'
          : String(e instanceof Error ? e.message : e),
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="login" aria-labelledby="page-title">
      <h1 id="page-title">Log in to the Agent Router Console</h1>
      <form onSubmit={submit}>
        <div class="field">
          <label for="admin-token">Admin token</label>
          <input
            id="admin-token"
            type="password"
            autocomplete="current-password"
            required
            value={token}
            aria-describedby="admin-token-hint"
            onInput={(e) => setToken((e.currentTarget as HTMLInputElement).value)}
          />
          <small id="admin-token-hint" class="hint">
            The console's admin token (AGENT_ROUTER_CONSOLE_TOKEN, or its Secret).
          </small>
        </div>
        <button type="submit" disabled={busy}>
          Log in
        </button>
        {error ? (
          <p class="error" role="alert">
            {error}
          </p>
        ) : null}
      </form>
    </main>
  );
}
