// Queries, their runs and what the editor needs around them (data sources, schema, snippets).
// Each hook's key lives in `queryKeys`; writes invalidate what they change.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { ApiError, client, unwrap, type Schemas } from '../../api/client';

export type Query = Schemas['Query'];
export type QueryInput = Schemas['QueryInput'];
export type Parameter = Schemas['Parameter'];
export type Job = Schemas['Job'];
export type SchemaTable = Schemas['SchemaTable'];
export type DataSource = Schemas['DataSource'];

export type ListKind = 'all' | 'my' | 'favorites' | 'archive';
export interface ListFilter {
  kind: ListKind;
  q: string;
  tags: string[];
  order: string;
  page: number;
  pageSize: number;
}

export const queryKeys = {
  all: ['queries'] as const,
  list: (filter: ListFilter) => ['queries', 'list', filter] as const,
  one: (id: number) => ['queries', id] as const,
  versions: (id: number) => ['queries', id, 'versions'] as const,
  tags: ['queries', 'tags'] as const,
  job: (id: string) => ['jobs', id] as const,
  dataSources: ['data_sources'] as const,
  schema: (id: number) => ['data_sources', id, 'schema'] as const,
  snippets: ['query_snippets'] as const,
};

const LIST_PATHS = {
  all: '/api/queries',
  my: '/api/queries/my',
  favorites: '/api/queries/favorites',
  archive: '/api/queries/archive',
} as const;

export function useQueryList(filter: ListFilter) {
  return useQuery({
    queryKey: queryKeys.list(filter),
    queryFn: () => {
      const query = {
        q: filter.q || undefined,
        order: filter.order || undefined,
        page: filter.page,
        page_size: filter.pageSize,
        ...(filter.kind === 'archive' ? {} : { tags: filter.tags.length ? filter.tags : undefined }),
      };
      return unwrap(client.GET(LIST_PATHS[filter.kind], { params: { query } }));
    },
    placeholderData: keepPreviousData,
  });
}

export function useQueryTags() {
  return useQuery({ queryKey: queryKeys.tags, queryFn: () => unwrap(client.GET('/api/queries/tags')) });
}

export function useSavedQuery(id: number | null) {
  return useQuery({
    queryKey: queryKeys.one(id ?? 0),
    queryFn: () => unwrap(client.GET('/api/queries/{id}', { params: { path: { id: id ?? 0 } } })),
    enabled: id !== null,
  });
}

export function useQueryVersions(id: number, enabled: boolean) {
  return useQuery({
    queryKey: queryKeys.versions(id),
    queryFn: () => unwrap(client.GET('/api/queries/{id}/versions', { params: { path: { id } } })),
    enabled,
  });
}

function useInvalidatingMutation<A, R>(mutationFn: (arg: A) => Promise<R>) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: queryKeys.all }),
  });
}

export function useCreateQuery() {
  return useInvalidatingMutation((body: QueryInput) => unwrap(client.POST('/api/queries', { body })));
}

export function useSaveQuery() {
  return useInvalidatingMutation(({ id, body }: { id: number; body: QueryInput }) =>
    unwrap(client.POST('/api/queries/{id}', { params: { path: { id } }, body })),
  );
}

export function useForkQuery() {
  return useInvalidatingMutation((id: number) => unwrap(client.POST('/api/queries/{id}/fork', { params: { path: { id } } })));
}

export function useArchiveQuery() {
  return useInvalidatingMutation((id: number) => unwrap(client.DELETE('/api/queries/{id}', { params: { path: { id } } })));
}

export function useRestoreVersion() {
  return useInvalidatingMutation(({ id, version }: { id: number; version: number }) =>
    unwrap(client.POST('/api/queries/{id}/versions/{version}/restore', { params: { path: { id, version } } })),
  );
}

export function useRegenerateQueryKey() {
  return useInvalidatingMutation((id: number) =>
    unwrap(client.POST('/api/queries/{id}/regenerate_api_key', { params: { path: { id } } })),
  );
}

export function useFavorite() {
  return useInvalidatingMutation(({ id, favorite }: { id: number; favorite: boolean }) =>
    favorite
      ? unwrap(client.POST('/api/queries/{id}/favorite', { params: { path: { id } } }))
      : unwrap(client.DELETE('/api/queries/{id}/favorite', { params: { path: { id } } })),
  );
}

export async function formatSql(query: string): Promise<string> {
  return (await unwrap(client.POST('/api/queries/format', { body: { query } }))).query;
}

export function useDataSources() {
  return useQuery({ queryKey: queryKeys.dataSources, queryFn: () => unwrap(client.GET('/api/data_sources')) });
}

export function useSnippets() {
  return useQuery({ queryKey: queryKeys.snippets, queryFn: () => unwrap(client.GET('/api/query_snippets')), staleTime: 60_000 });
}

/** The schema of a data source; when the server answers with a job, polls it to the schema. */
export function useSchema(dataSourceId: number | null) {
  return useQuery({
    queryKey: queryKeys.schema(dataSourceId ?? 0),
    enabled: dataSourceId !== null,
    staleTime: 5 * 60_000,
    queryFn: async (): Promise<SchemaTable[]> => {
      const reply = await unwrap(client.GET('/api/data_sources/{id}/schema', { params: { path: { id: dataSourceId ?? 0 } } }));
      if (reply.schema) return reply.schema;
      if (!reply.job?.id) return [];
      const job = await waitForJob(reply.job.id);
      if (job.status !== 3) throw new ApiError(400, job.error || 'Could not load the schema.');
      const result = job.result as { error?: { message?: string } } | SchemaTable[] | null;
      if (Array.isArray(result)) return result;
      throw new ApiError(400, result?.error?.message ?? 'This data source cannot list its schema.');
    },
  });
}

export async function fetchJob(id: string): Promise<Job> {
  return (await unwrap(client.GET('/api/jobs/{id}', { params: { path: { id } } }))).job;
}

/** Polls a job until it finishes (status 3, 4 or 5), backing off as Redash's client does. */
export async function waitForJob(id: string): Promise<Job> {
  for (let poll = 0; ; poll++) {
    const job = await fetchJob(id);
    if (job.status >= 3) return job;
    await new Promise((resolve) => setTimeout(resolve, poll < 10 ? 500 : poll < 50 ? 1000 : 3000));
  }
}

export async function cancelJob(id: string): Promise<void> {
  await unwrap(client.DELETE('/api/jobs/{id}', { params: { path: { id } } }));
}

/** Starts a run: of a saved query with parameter values, or of text on a data source. */
export async function startRun(run: { queryId: number | null; text: string; dataSourceId: number | null; parameters: Record<string, unknown> }) {
  const call =
    run.queryId !== null
      ? client.POST('/api/queries/{id}/results', {
          params: { path: { id: run.queryId } },
          body: { max_age: 0, parameters: run.parameters },
        })
      : client.POST('/api/query_results', {
          body: { query: run.text, data_source_id: run.dataSourceId ?? undefined, max_age: 0, parameters: run.parameters },
        });
  return unwrap(call);
}
