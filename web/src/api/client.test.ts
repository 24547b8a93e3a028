import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, client, messageOf, unwrap } from './client';
import { fakeNetwork, on } from '../test-support';

afterEach(() => {
  vi.unstubAllGlobals();
  document.cookie = 'csrf_token=; expires=Thu, 01 Jan 1970 00:00:00 GMT';
});

describe('messageOf', () => {
  it('prefers the server message, then a refused job error, then the status', () => {
    expect(messageOf({ message: 'Query is archived.' }, 400)).toBe('Query is archived.');
    expect(messageOf({ job: { status: 4, error: 'Please select data source to run this query.' } }, 401)).toBe('Please select data source to run this query.');
    expect(messageOf(undefined, 502)).toBe('The server answered 502.');
  });
});

describe('client', () => {
  it('turns an error reply into an ApiError carrying the server message', async () => {
    fakeNetwork(on('GET', '/api/queries/7', { message: 'You do not have access to this query.' }, 403));
    const failure = await unwrap(client.GET('/api/queries/{id}', { params: { path: { id: 7 } } })).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ApiError);
    expect((failure as ApiError).status).toBe(403);
    expect((failure as ApiError).message).toBe('You do not have access to this query.');
  });

  it('sends the CSRF cookie as a header on writes only', async () => {
    document.cookie = 'csrf_token=abc123';
    const seen = fakeNetwork(on('POST', '/api/queries/format', { query: 'SELECT 1' }), on('GET', '/api/queries/tags', { tags: [] }));
    await unwrap(client.POST('/api/queries/format', { body: { query: 'select 1' } }));
    await unwrap(client.GET('/api/queries/tags'));
    expect(seen[0]?.headers.get('X-CSRFToken')).toBe('abc123');
    expect(seen[1]?.headers.get('X-CSRFToken')).toBeNull();
  });
});
