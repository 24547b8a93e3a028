import { useState, type FormEvent } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { authKeys, setUp } from './api';

/** First run: the organization and its first admin. */
export function SetupPage(): React.JSX.Element {
  const queryClient = useQueryClient();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>): Promise<void> {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const field = (name: string): string => String(form.get(name) ?? '');
    setBusy(true);
    setError(null);
    try {
      await setUp({ name: field('name'), email: field('email'), password: field('password'), org_name: field('org_name') });
      await queryClient.invalidateQueries({ queryKey: authKeys.setup });
      await queryClient.invalidateQueries({ queryKey: authKeys.session });
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="auth-page">
      <h1>Welcome to Dashi</h1>
      <p>Create the organization and its first admin.</p>
      <form onSubmit={submit} aria-label="Set up">
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <label>
          Your name
          <input name="name" required autoFocus />
        </label>
        <label>
          Email
          <input name="email" type="email" required autoComplete="username" />
        </label>
        <label>
          Password (at least 6 characters)
          <input name="password" type="password" minLength={6} required autoComplete="new-password" />
        </label>
        <label>
          Organization name
          <input name="org_name" required />
        </label>
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Setting up…' : 'Set up'}
        </button>
      </form>
    </main>
  );
}
