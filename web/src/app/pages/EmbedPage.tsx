// `/embed/query/<query id>/visualization/<id>?api_key=…`: one visualization alone, readable with
// the query's API key, for the embed code the query page offers. Never shows the SQL text.
import { useQuery } from '@tanstack/react-query';
import { useParams, useSearchParams } from 'react-router';
import { client, unwrap, type Schemas } from '../../api/client';
import { VisualizationView } from '../../features/viz/VisualizationView';
import type { Visualization } from '../../features/viz/api';

export function EmbedPage(): React.JSX.Element {
  const params = useParams();
  const [search] = useSearchParams();
  const queryId = Number(params.queryId);
  const id = Number(params.id);
  const apiKey = search.get('api_key') ?? undefined;
  const visualization = useQuery({
    queryKey: ['embed', queryId, id],
    queryFn: async () =>
      (await unwrap(client.GET('/api/embed/queries/{query_id}/visualizations/{id}', { params: { path: { query_id: queryId, id }, query: { api_key: apiKey } } }))) as Visualization & {
        query: { name: string };
      },
  });
  const result = useQuery({
    queryKey: ['embed', queryId, 'results'],
    queryFn: async () =>
      ((await unwrap(client.GET('/api/queries/{id}/{file}', { params: { path: { id: queryId, file: 'results.json' }, query: { api_key: apiKey } }, parseAs: 'json' }))) as unknown as Schemas['QueryResultReply'])
        .query_result,
  });
  if (visualization.error || result.error) {
    return <p className="page form-error">{(visualization.error ?? result.error)?.message}</p>;
  }
  if (!visualization.data || !result.data) return <p className="page muted">Loading…</p>;
  const { data } = result.data;
  return (
    <main className="embed">
      <h1>{visualization.data.query.name}</h1>
      <VisualizationView visualization={visualization.data} rows={data.rows as Record<string, unknown>[]} columns={data.columns.map((column) => column.name)} />
      <p className="muted">Updated {result.data.retrieved_at?.slice(0, 16).replace('T', ' ')}</p>
    </main>
  );
}
