// The one HTTP client of the UI: typed from the OpenAPI document (schema.d.ts is generated from
// openapi/dashi.yaml by `npm run gen:api`), sending the CSRF token on writes and turning every
// failure into an ApiError that carries the server's own message.
import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema';

export type Schemas = components['schemas'];

/** A failed call: `status` is the HTTP status, `message` the server's `{"message"}` or job error. */
export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

function cookie(name: string): string | undefined {
  const prefix = `${name}=`;
  return document.cookie
    .split(';')
    .map((part) => part.trim())
    .find((part) => part.startsWith(prefix))
    ?.slice(prefix.length);
}

const csrf: Middleware = {
  onRequest({ request }) {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      const token = cookie('csrf_token');
      if (token) request.headers.set('X-CSRFToken', decodeURIComponent(token));
    }
    return request;
  },
};

// `fetch` is looked up per call (not captured once) so unit tests can fake the network.
export const client = createClient<paths>({ baseUrl: globalThis.location?.origin ?? '', credentials: 'same-origin', fetch: (request) => globalThis.fetch(request) });
client.use(csrf);

/** The message a failed reply carries: Redash's `{"message"}` or a refused run's `job.error`. */
export function messageOf(body: unknown, status: number): string {
  if (body && typeof body === 'object') {
    const record = body as { message?: unknown; job?: { error?: unknown } };
    if (typeof record.message === 'string' && record.message) return record.message;
    if (typeof record.job?.error === 'string' && record.job.error) return record.job.error;
  }
  if (typeof body === 'string' && body.trim()) return body.trim().slice(0, 300);
  return `The server answered ${status}.`;
}

/** Unwraps an openapi-fetch reply: its data, or an ApiError with the server's message. */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw new ApiError(response.status, messageOf(error, response.status));
  return data as T;
}
