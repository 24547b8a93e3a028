// Data sources as an admin manages them: kinds with their configuration schemas, create, edit,
// test, pause, delete.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { client, unwrap, type Schemas } from '../../api/client';

export type DataSource = Schemas['DataSource'];
export type DataSourceType = Schemas['DataSourceType'];
export type DataSourceInput = Schemas['DataSourceInput'];

export const dataSourceKeys = {
  all: ['data_sources'] as const,
  one: (id: number) => ['data_sources', id] as const,
  types: ['data_sources', 'types'] as const,
};

export function useDataSourceList() {
  return useQuery({ queryKey: dataSourceKeys.all, queryFn: () => unwrap(client.GET('/api/data_sources')) });
}

export function useDataSourceTypes() {
  return useQuery({ queryKey: dataSourceKeys.types, queryFn: () => unwrap(client.GET('/api/data_sources/types')), staleTime: Infinity });
}

export function useDataSource(id: number | null) {
  return useQuery({
    queryKey: dataSourceKeys.one(id ?? 0),
    queryFn: () => unwrap(client.GET('/api/data_sources/{id}', { params: { path: { id: id ?? 0 } } })),
    enabled: id !== null,
  });
}

function useDataSourceMutation<A, R>(mutationFn: (arg: A) => Promise<R>) {
  const queryClient = useQueryClient();
  return useMutation({ mutationFn, onSuccess: () => queryClient.invalidateQueries({ queryKey: dataSourceKeys.all }) });
}

export function useSaveDataSource() {
  return useDataSourceMutation(({ id, body }: { id: number | null; body: DataSourceInput }) =>
    id === null ? unwrap(client.POST('/api/data_sources', { body })) : unwrap(client.POST('/api/data_sources/{id}', { params: { path: { id } }, body })),
  );
}

export function usePauseDataSource() {
  return useDataSourceMutation(({ id, paused, reason }: { id: number; paused: boolean; reason?: string }) =>
    paused
      ? unwrap(client.POST('/api/data_sources/{id}/pause', { params: { path: { id } }, body: { reason } }))
      : unwrap(client.DELETE('/api/data_sources/{id}/pause', { params: { path: { id } } })),
  );
}

export function useDeleteDataSource() {
  return useDataSourceMutation((id: number) => unwrap(client.DELETE('/api/data_sources/{id}', { params: { path: { id } } })));
}

export function testDataSource(id: number) {
  return unwrap(client.POST('/api/data_sources/{id}/test', { params: { path: { id } } }));
}
