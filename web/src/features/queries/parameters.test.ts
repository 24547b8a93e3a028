import { describe, expect, it } from 'vitest';
import { parameterValues, parametersInText, syncParameters } from './parameters';

describe('parameters', () => {
  it('finds each parameter once, ignoring mustache sections and range parts', () => {
    const text = "select * from t where d between '{{ period.start }}' and '{{period.end}}' and c = {{ country }} {{#flag}}x{{/flag}} and c2 = {{country}}";
    expect(parametersInText(text)).toEqual(['period', 'country']);
  });

  it('keeps existing definitions and adds new names as text parameters', () => {
    const kept = { name: 'n', title: 'Count', type: 'number', value: 3 };
    const synced = syncParameters([kept, { name: 'gone', type: 'text' }], 'select {{ n }}, {{ fresh }}');
    expect(synced).toEqual([kept, { name: 'fresh', title: 'fresh', type: 'text', value: '' }]);
    expect(parameterValues(synced)).toEqual({ n: 3, fresh: '' });
  });
});
