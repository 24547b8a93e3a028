// A result under the editor: counts and runtime, downloads, and the grid.
import { useMemo } from 'react';
import { formatDuration } from '../../lib/format';
import { showError } from '../../components/toast';
import { downloadUrl, useResultHead } from './api';
import { ResultGrid } from './ResultGrid';

export function ResultPanel({ resultId }: { resultId: number }): React.JSX.Element {
  const head = useResultHead(resultId);
  const columns = useMemo(() => head.data?.columns ?? [], [head.data]);
  if (head.isLoading) return <p className="muted">Loading result…</p>;
  if (!head.data) return <p className="form-error">{head.error?.message ?? 'The result could not be loaded.'}</p>;
  const result = head.data;
  return (
    <div className="result-panel">
      <div className="result-toolbar">
        <span data-testid="row-count">
          {result.row_count.toLocaleString()} {result.row_count === 1 ? 'row' : 'rows'}
        </span>
        {typeof result.runtime === 'number' && <span>· {formatDuration(result.runtime)} runtime</span>}
        {result.retrieved_at && <span className="muted">· {result.retrieved_at.slice(0, 19).replace('T', ' ')}</span>}
        <span className="spacer" />
        <span className="downloads">
          Download
          {(['csv', 'tsv', 'xlsx', 'json'] as const).map((format) => (
            <a key={format} className="button small" href={downloadUrl(resultId, format)} download>
              {format.toUpperCase()}
            </a>
          ))}
        </span>
      </div>
      {result.row_count === 0 ? (
        <p className="muted empty-result">The query returned no rows.</p>
      ) : (
        <ResultGrid key={resultId} resultId={resultId} columns={columns} rowCount={result.row_count} firstPage={result} onError={showError} />
      )}
    </div>
  );
}
