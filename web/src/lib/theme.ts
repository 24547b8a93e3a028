// Light and dark theme: follows the system unless the user picked one, remembered per browser.
export type ThemeChoice = 'system' | 'light' | 'dark';
const KEY = 'dashi.theme';

export function storedTheme(): ThemeChoice {
  const value = localStorage.getItem(KEY);
  return value === 'light' || value === 'dark' ? value : 'system';
}

const CHANGED = 'dashi-theme-change';

export function applyTheme(choice: ThemeChoice): void {
  if (choice === 'system') {
    delete document.documentElement.dataset.theme;
    localStorage.removeItem(KEY);
  } else {
    document.documentElement.dataset.theme = choice;
    localStorage.setItem(KEY, choice);
  }
  window.dispatchEvent(new Event(CHANGED));
}

/** Calls `listener` when the effective theme may have changed: a pick in the UI or the system's. */
export function onThemeChange(listener: () => void): () => void {
  const media = window.matchMedia?.('(prefers-color-scheme: dark)');
  window.addEventListener(CHANGED, listener);
  media?.addEventListener('change', listener);
  return () => {
    window.removeEventListener(CHANGED, listener);
    media?.removeEventListener('change', listener);
  };
}

/** The theme in effect now, resolving `system` through the media query. */
export function effectiveTheme(): 'light' | 'dark' {
  const chosen = document.documentElement.dataset.theme;
  if (chosen === 'light' || chosen === 'dark') return chosen;
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

export function nextTheme(choice: ThemeChoice): ThemeChoice {
  return choice === 'system' ? 'light' : choice === 'light' ? 'dark' : 'system';
}
