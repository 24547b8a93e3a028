// Below the editor: schedule, version history (diff and restore) and sharing (API key link and
// embed code) of a saved query.
import { useState } from 'react';
import { useQueryVersions, useRegenerateQueryKey, useRestoreVersion, useSaveQuery, type Query } from './api';
import { lineDiff } from './diff';

type Schedule = NonNullable<Query['schedule']>;
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const INTERVALS: [number, string][] = [
  [60, 'Every minute'],
  [300, 'Every 5 minutes'],
  [900, 'Every 15 minutes'],
  [1800, 'Every 30 minutes'],
  [3600, 'Every hour'],
  [21600, 'Every 6 hours'],
  [43200, 'Every 12 hours'],
  [86400, 'Every day'],
  [604800, 'Every week'],
];

/** Redash's schedule object: interval in seconds; daily and weekly runs at `time` (UTC, HH:MM). */
export function ScheduleEditor({ query }: { query: Query }): React.JSX.Element {
  const save = useSaveQuery();
  const [schedule, setSchedule] = useState<Schedule | null>(query.schedule ?? null);
  const interval = schedule?.interval ?? null;
  const needsTime = interval !== null && interval >= 86400;
  const update = (next: Schedule | null) => setSchedule(next);
  return (
    <fieldset className="schedule">
      <legend>Refresh schedule</legend>
      <label>
        Refresh
        <select value={interval ?? ''} onChange={(event) => update(event.target.value ? { interval: Number(event.target.value), time: Number(event.target.value) >= 86400 ? (schedule?.time ?? '00:00') : null, day_of_week: Number(event.target.value) === 604800 ? (schedule?.day_of_week ?? 'Monday') : null, until: schedule?.until ?? null } : null)}>
          <option value="">Never</option>
          {INTERVALS.map(([seconds, label]) => (
            <option key={seconds} value={seconds}>
              {label}
            </option>
          ))}
        </select>
      </label>
      {needsTime && (
        <label>
          At (UTC)
          <input type="time" value={schedule?.time ?? '00:00'} onChange={(event) => update({ ...schedule, time: event.target.value })} />
        </label>
      )}
      {interval === 604800 && (
        <label>
          On
          <select value={schedule?.day_of_week ?? 'Monday'} onChange={(event) => update({ ...schedule, day_of_week: event.target.value })}>
            {DAYS.map((day) => (
              <option key={day}>{day}</option>
            ))}
          </select>
        </label>
      )}
      {interval !== null && (
        <label>
          Until
          <input type="date" value={schedule?.until ?? ''} onChange={(event) => update({ ...schedule, until: event.target.value || null })} />
        </label>
      )}
      <button type="button" onClick={() => save.mutate({ id: query.id, body: { schedule, version: query.version } })} disabled={save.isPending}>
        Save schedule
      </button>
    </fieldset>
  );
}

function History({ query }: { query: Query }): React.JSX.Element {
  const [open, setOpen] = useState(false);
  const [chosen, setChosen] = useState<number | null>(null);
  const versions = useQueryVersions(query.id, open);
  const restore = useRestoreVersion();
  const version = versions.data?.find((one) => one.version === chosen);
  return (
    <details className="history" onToggle={(event) => setOpen((event.target as HTMLDetailsElement).open)}>
      <summary>Version history</summary>
      {versions.isLoading && <p className="muted">Loading…</p>}
      {versions.data?.length === 0 && <p className="muted">No earlier versions.</p>}
      <ul>
        {versions.data?.map((one) => (
          <li key={String(one.version)}>
            <button type="button" className={chosen === one.version ? 'ghost active' : 'ghost'} onClick={() => setChosen(one.version ?? null)}>
              Version {one.version} · {one.created_at?.slice(0, 16).replace('T', ' ')} {one.user?.name ? `· ${one.user.name}` : ''}
            </button>
          </li>
        ))}
      </ul>
      {version && (
        <div>
          <pre className="diff" aria-label="Changes from this version to the current text">
            {lineDiff(version.query ?? '', query.query).map((line, index) => (
              <div key={index} className={`diff-${line.kind}`}>
                {line.kind === 'added' ? '+ ' : line.kind === 'removed' ? '- ' : '  '}
                {line.text}
              </div>
            ))}
          </pre>
          <button type="button" onClick={() => restore.mutate({ id: query.id, version: version.version ?? 0 })}>
            Restore version {version.version}
          </button>
        </div>
      )}
    </details>
  );
}

function Share({ query }: { query: Query }): React.JSX.Element {
  const regenerate = useRegenerateQueryKey();
  const origin = window.location.origin;
  const link = `${origin}/api/queries/${query.id}/results.csv?api_key=${query.api_key ?? ''}`;
  const table = query.visualizations?.[0];
  const embed = table ? `<iframe src="${origin}/embed/query/${query.id}/visualization/${table.id}?api_key=${query.api_key ?? ''}" width="720" height="391"></iframe>` : '';
  return (
    <details className="share">
      <summary>Share</summary>
      <label>
        Results link (CSV, with the query's API key)
        <input readOnly value={link} onFocus={(event) => event.target.select()} />
      </label>
      {embed && (
        <label>
          Embed code
          <textarea readOnly value={embed} onFocus={(event) => event.target.select()} />
        </label>
      )}
      <button type="button" onClick={() => window.confirm('Links with the old key stop working. Continue?') && regenerate.mutate(query.id)}>
        Regenerate API key
      </button>
    </details>
  );
}

export function QueryExtras({ query }: { query: Query }): React.JSX.Element {
  return (
    <section className="query-extras" aria-label="Schedule, history and sharing">
      <ScheduleEditor query={query} />
      <History query={query} />
      <Share query={query} />
    </section>
  );
}
