import { describe, expect, it } from 'vitest';
import { lineDiff } from './diff';

describe('lineDiff', () => {
  it('marks removed and added lines around the common ones', () => {
    expect(lineDiff('select a\nfrom t\nwhere x', 'select a, b\nfrom t')).toEqual([
      { kind: 'removed', text: 'select a' },
      { kind: 'added', text: 'select a, b' },
      { kind: 'same', text: 'from t' },
      { kind: 'removed', text: 'where x' },
    ]);
  });
});
