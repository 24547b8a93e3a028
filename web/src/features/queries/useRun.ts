// One run of the editor: start, follow the job (queued with position, running with elapsed time),
// cancel, and end with a result id or the server's error.
import { useCallback, useEffect, useRef, useState } from 'react';
import { cancelJob, fetchJob, startRun } from './api';

export type RunState =
  | { phase: 'idle' }
  | { phase: 'starting' }
  | { phase: 'queued'; jobId: string; position: number | null }
  | { phase: 'running'; jobId: string; startedAt: number }
  | { phase: 'done'; resultId: number }
  | { phase: 'failed'; message: string }
  | { phase: 'cancelled' };

export interface RunRequest {
  queryId: number | null;
  text: string;
  dataSourceId: number | null;
  parameters: Record<string, unknown>;
}

function pollDelay(poll: number): number {
  return poll < 10 ? 400 : poll < 50 ? 1000 : 3000;
}

export function useRun(): { state: RunState; run: (request: RunRequest) => Promise<void>; cancel: () => Promise<void> } {
  const [state, setState] = useState<RunState>({ phase: 'idle' });
  const generation = useRef(0);
  const jobId = useRef<string | null>(null);

  useEffect(() => () => void (generation.current += 1), []);

  const run = useCallback(async (request: RunRequest) => {
    const mine = ++generation.current;
    const current = () => generation.current === mine;
    setState({ phase: 'starting' });
    try {
      const reply = await startRun(request);
      if (!current()) return;
      if (reply.query_result) {
        setState({ phase: 'done', resultId: reply.query_result.id });
        return;
      }
      let job = reply.job;
      if (!job?.id) throw new Error(job?.error || 'The server started no job.');
      jobId.current = job.id;
      const firstSeen = Date.now();
      for (let poll = 0; current(); poll++) {
        if (job.status === 3) {
          if (job.query_result_id == null) throw new Error('The job finished without a result.');
          setState({ phase: 'done', resultId: job.query_result_id });
          return;
        }
        if (job.status === 4) throw new Error(job.error || 'The query failed.');
        if (job.status === 5) {
          setState({ phase: 'cancelled' });
          return;
        }
        const id = job.id ?? '';
        if (job.status === 2) {
          const started = job.started_at ? Date.parse(job.started_at) : firstSeen;
          setState({ phase: 'running', jobId: id, startedAt: Number.isNaN(started) ? firstSeen : started });
        } else {
          setState({ phase: 'queued', jobId: id, position: job.position ?? null });
        }
        await new Promise((resolve) => setTimeout(resolve, pollDelay(poll)));
        if (!current()) return;
        job = await fetchJob(id);
      }
    } catch (error) {
      if (current()) setState({ phase: 'failed', message: error instanceof Error ? error.message : String(error) });
    }
  }, []);

  const cancel = useCallback(async () => {
    const id = jobId.current;
    if (!id) return;
    await cancelJob(id);
  }, []);

  return { state, run, cancel };
}
