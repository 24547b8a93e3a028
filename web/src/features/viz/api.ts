// Saving visualizations: Redash's `/api/visualizations` with its option blobs untouched.
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { client, unwrap, type Schemas } from '../../api/client';

export type Visualization = Schemas['Visualization'];
export type VisualizationInput = Schemas['VisualizationInput'];

/** Saving a visualization changes the query it hangs on, so that query is refetched. */
export function useSaveVisualization() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, body }: { id: number | null; body: VisualizationInput }) =>
      id === null
        ? unwrap(client.POST('/api/visualizations', { body }))
        : unwrap(client.POST('/api/visualizations/{id}', { params: { path: { id } }, body })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['queries'] }),
  });
}

export function useDeleteVisualization() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: number) => unwrap(client.DELETE('/api/visualizations/{id}', { params: { path: { id } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['queries'] }),
  });
}
