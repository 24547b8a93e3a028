import { useState, type FormEvent } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { authKeys, logIn, useClientConfig } from './api';

/** Email and password login, plus the single sign-on buttons the server has enabled. */
export function LoginPage(): React.JSX.Element {
  const config = useClientConfig();
  const queryClient = useQueryClient();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const next = encodeURIComponent(window.location.pathname + window.location.search);

  async function submit(event: FormEvent<HTMLFormElement>): Promise<void> {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    try {
      await logIn(String(form.get('email')), String(form.get('password')), form.get('remember') === 'on');
      await queryClient.invalidateQueries({ queryKey: authKeys.session });
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
    } finally {
      setBusy(false);
    }
  }

  const settings = config.data;
  return (
    <main className="auth-page">
      <h1>Log in to Dashi</h1>
      {settings?.googleLoginEnabled && (
        <a className="button sso" href={`/oauth/google?next=${next}`}>
          Log in with Google
        </a>
      )}
      {settings?.oidcLoginEnabled && (
        <a className="button sso" href={`/oauth/oidc?next=${next}`}>
          Log in with single sign-on
        </a>
      )}
      <form onSubmit={submit} aria-label="Log in">
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <label>
          Email
          <input name="email" type="email" autoComplete="username" required autoFocus />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required />
        </label>
        <label className="inline">
          <input name="remember" type="checkbox" /> Remember me
        </label>
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
      </form>
    </main>
  );
}
