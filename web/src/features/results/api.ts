// Reading stored results: pages of rows for the grid, whole results for visualizations.
import { useQuery } from '@tanstack/react-query';
import { client, unwrap, type Schemas } from '../../api/client';

export type ResultPage = Schemas['ResultPage'];
export type Column = Schemas['Column'];
export type QueryResult = Schemas['QueryResult'];

export interface Sort {
  column: string;
  desc: boolean;
}

export const resultKeys = {
  firstPage: (id: number) => ['query_results', id, 'first'] as const,
  whole: (id: number) => ['query_results', id] as const,
};

/** The grid's page size: big enough that scrolling needs few requests, small enough to parse fast. */
export const PAGE_ROWS = 1000;

export function fetchPage(id: number, offset: number, limit: number, sort: Sort | null, signal?: AbortSignal): Promise<ResultPage> {
  return unwrap(
    client.GET('/api/query_results/{id}/page', {
      params: {
        path: { id },
        query: { offset, limit, ...(sort ? { sort: sort.column, desc: sort.desc ? 'true' : 'false' } : {}) },
      },
      signal,
    }),
  );
}

/** Columns, row count and runtime of a result, with its first page. */
export function useResultHead(id: number | null) {
  return useQuery({
    queryKey: resultKeys.firstPage(id ?? 0),
    queryFn: () => fetchPage(id ?? 0, 0, PAGE_ROWS, null),
    enabled: id !== null,
    staleTime: Infinity,
  });
}

/** The whole result as Redash JSON (visualizations need every row). */
export function useWholeResult(id: number | null) {
  return useQuery({
    queryKey: resultKeys.whole(id ?? 0),
    queryFn: async (): Promise<QueryResult> => {
      // The same path also serves CSV; without an extension it is always the JSON document.
      const reply = await unwrap(client.GET('/api/query_results/{id}', { params: { path: { id: String(id) } } }));
      return (reply as Schemas['QueryResultReply']).query_result;
    },
    enabled: id !== null,
    staleTime: Infinity,
  });
}

export function downloadUrl(id: number, format: 'csv' | 'tsv' | 'xlsx' | 'json'): string {
  return `/api/query_results/${id}.${format}`;
}
