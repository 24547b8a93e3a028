// The app: providers, the auth gate (setup → login → app) and the routes.
import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { BrowserRouter, Navigate, Route, Routes } from 'react-router';
import { showError, Toasts } from '../components/toast';
import { applyTheme, storedTheme } from '../lib/theme';
import { useSession, useSetupState } from '../features/auth/api';
import { LoginPage } from '../features/auth/LoginPage';
import { SetupPage } from '../features/auth/SetupPage';
import { QueriesList } from '../features/queries/QueriesList';
import { DataSourceEditPage, DataSourcesPage } from '../features/admin/DataSourcesPage';
import { Layout } from './Layout';
import { QueryPage } from './pages/QueryPage';
import { EmptyState } from '../components/EmptyState';
import { EmbedPage } from './pages/EmbedPage';

/** Every failed request raises a toast with the server's message, unless its query is `silent`. */
export function makeQueryClient(): QueryClient {
  return new QueryClient({
    queryCache: new QueryCache({ onError: (error, query) => !query.meta?.silent && showError(error) }),
    mutationCache: new MutationCache({ onError: (error) => showError(error) }),
    defaultOptions: { queries: { retry: false, refetchOnWindowFocus: false } },
  });
}

function Gate(): React.JSX.Element {
  const setup = useSetupState();
  const session = useSession();
  if (setup.isLoading || session.isLoading) return <p className="page muted">Loading…</p>;
  if (setup.data?.needs_setup) return <SetupPage />;
  if (!session.data) return <LoginPage />;
  const isAdmin = session.data.user.permissions.includes('admin');
  return (
    <Layout session={session.data}>
      <Routes>
        <Route path="/" element={<Navigate to="/queries" replace />} />
        <Route path="/queries" element={<QueriesList />} />
        <Route path="/queries/:id" element={<QueryPage />} />
        <Route path="/queries/:id/source" element={<QueryPage />} />
        {isAdmin && <Route path="/data_sources" element={<DataSourcesPage />} />}
        {isAdmin && <Route path="/data_sources/:id" element={<DataSourceEditPage />} />}
        <Route path="*" element={<EmptyState title="Page not found">{<p>Nothing lives at this address.</p>}</EmptyState>} />
      </Routes>
    </Layout>
  );
}

const queryClient = makeQueryClient();
applyTheme(storedTheme());

export function App(): React.JSX.Element {
  return (
    <QueryClientProvider client={queryClient}>
      <BrowserRouter>
        <Routes>
          {/* Embeds are read with the query's API key, outside the login gate. */}
          <Route path="/embed/query/:queryId/visualization/:id" element={<EmbedPage />} />
          <Route path="*" element={<Gate />} />
        </Routes>
      </BrowserRouter>
      <Toasts />
    </QueryClientProvider>
  );
}
