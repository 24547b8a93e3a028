// Toasts: short messages at the corner, errors carrying the server's own words. A tiny store
// outside React so the query cache's global error handler can raise one too.
import { useSyncExternalStore } from 'react';

export type ToastKind = 'error' | 'success' | 'info';
export interface Toast {
  id: number;
  kind: ToastKind;
  message: string;
}

let toasts: Toast[] = [];
let nextId = 1;
const listeners = new Set<() => void>();

function publish(next: Toast[]): void {
  toasts = next;
  for (const listener of listeners) listener();
}

export function dismissToast(id: number): void {
  publish(toasts.filter((toast) => toast.id !== id));
}

/** Shows a toast; errors stay until dismissed, others leave after a few seconds. */
export function showToast(kind: ToastKind, message: string): number {
  const id = nextId++;
  publish([...toasts.slice(-4), { id, kind, message }]);
  if (kind !== 'error') setTimeout(() => dismissToast(id), 4000);
  return id;
}

export function showError(error: unknown): void {
  showToast('error', error instanceof Error ? error.message : String(error));
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function Toasts(): React.JSX.Element {
  const current = useSyncExternalStore(subscribe, () => toasts);
  return (
    <div className="toasts" aria-live="polite">
      {current.map((toast) => (
        <div key={toast.id} className={`toast toast-${toast.kind}`} role={toast.kind === 'error' ? 'alert' : 'status'}>
          <span>{toast.message}</span>
          <button type="button" className="ghost" aria-label="Dismiss" onClick={() => dismissToast(toast.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
