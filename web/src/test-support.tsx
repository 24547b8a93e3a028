// Unit-test helpers: a fake network at the fetch boundary and a render with the app's providers.
import type { ReactElement } from 'react';
import { render } from '@testing-library/react';
import { QueryClientProvider } from '@tanstack/react-query';
import { MemoryRouter } from 'react-router';
import { vi } from 'vitest';
import { makeQueryClient } from './app/App';

export type Route = (request: Request) => { status?: number; body: unknown; type?: string } | undefined;

/** Replaces `fetch`: each request goes to the first route that answers; others are 404s. */
export function fakeNetwork(...routes: Route[]): Request[] {
  const seen: Request[] = [];
  vi.stubGlobal('fetch', async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(new URL(String(input), 'http://localhost'), init);
    seen.push(request);
    for (const route of routes) {
      const answer = route(request);
      if (answer) {
        const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
        return new Response(text, { status: answer.status ?? 200, headers: { 'Content-Type': answer.type ?? 'application/json' } });
      }
    }
    return new Response(JSON.stringify({ message: 'Not found.' }), { status: 404, headers: { 'Content-Type': 'application/json' } });
  });
  return seen;
}

export function on(method: string, path: string, body: unknown, status = 200): Route {
  return (request) => {
    const url = new URL(request.url);
    return request.method === method && url.pathname === path ? { body, status } : undefined;
  };
}

export function renderWithProviders(element: ReactElement, path = '/') {
  return render(
    <QueryClientProvider client={makeQueryClient()}>
      <MemoryRouter initialEntries={[path]}>{element}</MemoryRouter>
    </QueryClientProvider>,
  );
}
