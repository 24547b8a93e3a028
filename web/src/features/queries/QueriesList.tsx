// The queries list: All, My, Favorites and Archived, with search, tags, sort and pages; each row
// can be starred, forked or archived.
import { useState } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { EmptyState } from '../../components/EmptyState';
import { useArchiveQuery, useFavorite, useForkQuery, useQueryList, useQueryTags, type ListKind } from './api';

const KINDS: [ListKind, string][] = [
  ['all', 'All queries'],
  ['my', 'My queries'],
  ['favorites', 'Favorites'],
  ['archive', 'Archived'],
];

const ORDERS: [string, string][] = [
  ['-created_at', 'Newest'],
  ['created_at', 'Oldest'],
  ['name', 'Name'],
  ['-executed_at', 'Last run'],
  ['-runtime', 'Runtime'],
  ['created_by', 'Author'],
];

export function QueriesList(): React.JSX.Element {
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const kind = (params.get('kind') as ListKind | null) ?? 'all';
  const q = params.get('q') ?? '';
  const tags = params.getAll('tags');
  const order = params.get('order') ?? (q ? '' : '-created_at');
  const page = Number(params.get('page') ?? '1') || 1;
  const pageSize = Number(params.get('page_size') ?? '20') || 20;
  const [search, setSearch] = useState(q);
  const list = useQueryList({ kind, q, tags, order, page, pageSize });
  const allTags = useQueryTags();
  const favorite = useFavorite();
  const fork = useForkQuery();
  const archive = useArchiveQuery();

  function update(changes: Record<string, string | string[] | null>): void {
    const next = new URLSearchParams(params);
    for (const [key, value] of Object.entries(changes)) {
      next.delete(key);
      if (Array.isArray(value)) for (const one of value) next.append(key, one);
      else if (value !== null && value !== '') next.set(key, value);
    }
    if (!('page' in changes)) next.delete('page');
    setParams(next);
  }

  function toggleTag(tag: string): void {
    update({ tags: tags.includes(tag) ? tags.filter((one) => one !== tag) : [...tags, tag] });
  }

  const data = list.data;
  const pageCount = data ? Math.max(1, Math.ceil(data.count / data.page_size)) : 1;
  return (
    <main className="page">
      <header className="page-header">
        <h1>Queries</h1>
        <Link className="button primary" to="/queries/new">
          New query
        </Link>
      </header>
      <div className="list-layout">
        <nav className="list-filters" aria-label="Query lists">
          {KINDS.map(([value, label]) => (
            <button key={value} type="button" className={value === kind ? 'ghost active' : 'ghost'} aria-current={value === kind ? 'page' : undefined} onClick={() => update({ kind: value === 'all' ? null : value, tags: [] })}>
              {label}
            </button>
          ))}
          {kind !== 'archive' && (allTags.data?.tags.length ?? 0) > 0 && (
            <div className="tag-filter" aria-label="Tags">
              <h2>Tags</h2>
              {allTags.data?.tags.map((tag) => (
                <button key={tag.name} type="button" className={tags.includes(tag.name) ? 'tag active' : 'tag'} aria-pressed={tags.includes(tag.name)} onClick={() => toggleTag(tag.name)}>
                  {tag.name} <span className="muted">{tag.count}</span>
                </button>
              ))}
            </div>
          )}
        </nav>
        <section className="list-main">
          <form
            className="list-tools"
            role="search"
            onSubmit={(event) => {
              event.preventDefault();
              update({ q: search });
            }}
          >
            <input type="search" aria-label="Search queries" placeholder="Search queries…" value={search} onChange={(event) => setSearch(event.target.value)} />
            <select aria-label="Sort by" value={order} onChange={(event) => update({ order: event.target.value })}>
              {q && <option value="">Best match</option>}
              {ORDERS.map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>
          </form>
          {list.isLoading && <p className="muted">Loading…</p>}
          {data && data.results.length === 0 && (
            <EmptyState title={q || tags.length ? 'No queries match' : kind === 'favorites' ? 'No favorites yet' : kind === 'archive' ? 'Nothing archived' : 'No queries yet'}>
              {q || tags.length ? <p>Try other words or fewer tags.</p> : kind === 'favorites' ? <p>Star a query to find it here.</p> : <p><Link to="/queries/new">Write your first query</Link>.</p>}
            </EmptyState>
          )}
          {data && data.results.length > 0 && (
            <table className="list-table">
              <thead>
                <tr>
                  <th aria-label="Favorite" />
                  <th>Name</th>
                  <th>Author</th>
                  <th>Created</th>
                  <th>Last run</th>
                  <th aria-label="Actions" />
                </tr>
              </thead>
              <tbody>
                {data.results.map((query) => (
                  <tr key={query.id}>
                    <td>
                      <button type="button" className="ghost star" aria-pressed={Boolean(query.is_favorite)} aria-label={query.is_favorite ? `Unstar ${query.name}` : `Star ${query.name}`} onClick={() => favorite.mutate({ id: query.id, favorite: !query.is_favorite })}>
                        {query.is_favorite ? '★' : '☆'}
                      </button>
                    </td>
                    <td>
                      <Link to={`/queries/${query.id}`}>{query.name}</Link>
                      {query.is_draft && <span className="badge">Draft</span>}
                      {query.tags.map((tag) => (
                        <span key={tag} className="badge tag-badge">
                          {tag}
                        </span>
                      ))}
                    </td>
                    <td>{query.user?.name}</td>
                    <td>{query.created_at?.slice(0, 10)}</td>
                    <td>{query.retrieved_at?.slice(0, 16).replace('T', ' ') ?? '—'}</td>
                    <td className="row-actions">
                      <button type="button" className="ghost" onClick={() => fork.mutate(query.id, { onSuccess: (copy) => navigate(`/queries/${copy.id}`) })}>
                        Fork
                      </button>
                      {!query.is_archived && (
                        <button type="button" className="ghost" onClick={() => window.confirm(`Archive "${query.name}"?`) && archive.mutate(query.id)}>
                          Archive
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {data && data.count > 0 && (
            <nav className="pager" aria-label="Pages">
              <button type="button" disabled={page <= 1} onClick={() => update({ page: String(page - 1) })}>
                Previous
              </button>
              <span>
                Page {page} of {pageCount} · {data.count} queries
              </span>
              <button type="button" disabled={page >= pageCount} onClick={() => update({ page: String(page + 1) })}>
                Next
              </button>
              <select aria-label="Page size" value={pageSize} onChange={(event) => update({ page_size: event.target.value })}>
                {[20, 50, 100].map((size) => (
                  <option key={size} value={size}>
                    {size} a page
                  </option>
                ))}
              </select>
            </nav>
          )}
        </section>
      </div>
    </main>
  );
}
