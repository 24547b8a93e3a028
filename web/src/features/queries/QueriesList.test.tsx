import { afterEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, screen, waitFor } from '@testing-library/react';
import { QueriesList } from './QueriesList';
import { fakeNetwork, on, renderWithProviders } from '../../test-support';

afterEach(() => vi.unstubAllGlobals());

const page = (results: unknown[]) => ({ count: results.length, page: 1, page_size: 20, results });
const query = { id: 4, name: 'Revenue', query: 'select 1', data_source_id: 1, options: {}, version: 1, tags: ['finance'], is_archived: false, is_draft: false, is_favorite: false, user: { name: 'Ada' } };

describe('QueriesList', () => {
  it('says what to do when there are no queries', async () => {
    fakeNetwork(on('GET', '/api/queries', page([])), on('GET', '/api/queries/tags', { tags: [] }));
    renderWithProviders(<QueriesList />, '/queries');
    expect(await screen.findByText('No queries yet')).toBeTruthy();
  });

  it('asks the server for the chosen list, search, tag and order', async () => {
    const seen = fakeNetwork(on('GET', '/api/queries', page([query])), on('GET', '/api/queries/my', page([query])), on('GET', '/api/queries/tags', { tags: [{ name: 'finance', count: 1 }] }));
    renderWithProviders(<QueriesList />, '/queries');
    expect(await screen.findByRole('link', { name: 'Revenue' })).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: /finance/ }));
    fireEvent.click(screen.getByRole('button', { name: 'My queries' }));
    fireEvent.change(screen.getByRole('searchbox', { name: 'Search queries' }), { target: { value: 'rev' } });
    fireEvent.submit(screen.getByRole('search'));
    await waitFor(() => {
      const last = new URL(seen[seen.length - 1]?.url ?? '');
      expect(last.pathname).toBe('/api/queries/my');
      expect(last.searchParams.get('q')).toBe('rev');
    });
    const tagged = seen.map((request) => new URL(request.url)).find((url) => url.searchParams.getAll('tags').includes('finance'));
    expect(tagged?.pathname).toBe('/api/queries');
  });

  it('stars a query through the favorite endpoint', async () => {
    const seen = fakeNetwork(on('GET', '/api/queries', page([query])), on('GET', '/api/queries/tags', { tags: [] }), on('POST', '/api/queries/4/favorite', null));
    renderWithProviders(<QueriesList />, '/queries');
    fireEvent.click(await screen.findByRole('button', { name: 'Star Revenue' }));
    await waitFor(() => expect(seen.some((request) => request.method === 'POST' && request.url.endsWith('/api/queries/4/favorite'))).toBe(true));
  });
});
