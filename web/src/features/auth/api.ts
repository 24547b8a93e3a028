// Who is using the UI: session, client configuration, first-run state, and the form posts that
// log in and set up (the same endpoints Redash's server-rendered forms use).
import { useQuery } from '@tanstack/react-query';
import { ApiError, client, unwrap, type Schemas } from '../../api/client';

export const authKeys = {
  session: ['session'] as const,
  config: ['config'] as const,
  setup: ['setup'] as const,
};

export type Session = Schemas['Session'];
export type ClientConfig = Schemas['ClientConfig'];

export function useSession() {
  return useQuery({
    queryKey: authKeys.session,
    // A missing session is an answer here, not an error to toast.
    queryFn: async (): Promise<Session | null> => {
      const { data, response } = await client.GET('/api/session');
      if (response.status === 401 || response.status === 404) return null;
      if (!response.ok || !data) throw new ApiError(response.status, 'Could not load your session.');
      return data;
    },
    staleTime: 60_000,
    meta: { silent: true },
  });
}

export function useClientConfig() {
  return useQuery({
    queryKey: authKeys.config,
    queryFn: async (): Promise<ClientConfig> => (await unwrap(client.GET('/api/config'))).client_config,
    staleTime: 5 * 60_000,
  });
}

export function useSetupState() {
  return useQuery({
    queryKey: authKeys.setup,
    queryFn: () => unwrap(client.GET('/api/setup')),
  });
}

/** The `role="alert"` message of a server-rendered form page that refused a post. */
function formError(html: string, status: number): string {
  const page = new DOMParser().parseFromString(html, 'text/html');
  return page.querySelector('.error')?.textContent?.trim() || `The server answered ${status}.`;
}

async function postForm(path: string, fields: Record<string, string>): Promise<void> {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
    credentials: 'same-origin',
    // Success is a redirect with the session cookies set; following it would load HTML.
    redirect: 'manual',
  });
  if (response.type === 'opaqueredirect' || response.ok) return;
  const text = await response.text();
  let message: string;
  try {
    message = (JSON.parse(text) as { message?: string }).message ?? formError(text, response.status);
  } catch {
    message = formError(text, response.status);
  }
  throw new ApiError(response.status, message);
}

export function logIn(email: string, password: string, remember: boolean): Promise<void> {
  return postForm('/login', { email, password, ...(remember ? { remember: 'on' } : {}) });
}

export function setUp(form: { name: string; email: string; password: string; org_name: string }): Promise<void> {
  return postForm('/setup', form);
}
