// One input per query parameter, by Redash type, and the form that edits a definition.
import { useQuery } from '@tanstack/react-query';
import { client, unwrap } from '../../api/client';
import { isRange, PARAMETER_TYPES } from './parameters';
import type { Parameter } from './api';

function inputType(type: string): string {
  if (type.startsWith('datetime')) return 'datetime-local';
  if (type.startsWith('date')) return 'date';
  return type === 'number' ? 'number' : 'text';
}

function QueryDropdown({ queryId, parameter, onChange }: { queryId: number | null; parameter: Parameter; onChange: (value: unknown) => void }): React.JSX.Element {
  const source = parameter.queryId ?? null;
  const values = useQuery({
    queryKey: ['queries', queryId, 'dropdowns', source],
    enabled: source !== null,
    queryFn: () =>
      queryId !== null
        ? unwrap(client.GET('/api/queries/{id}/dropdowns/{dropdown_id}', { params: { path: { id: queryId, dropdown_id: source ?? 0 } } }))
        : unwrap(client.GET('/api/queries/{id}/dropdown', { params: { path: { id: source ?? 0 } } })),
  });
  return (
    <select aria-label={parameter.title || parameter.name} value={String(parameter.value ?? '')} onChange={(event) => onChange(event.target.value)}>
      <option value="" />
      {(values.data ?? []).map((option) => (
        <option key={option.value} value={option.value}>
          {String(option.name)}
        </option>
      ))}
    </select>
  );
}

export function ParameterWidget({ queryId, parameter, onChange }: { queryId: number | null; parameter: Parameter; onChange: (value: unknown) => void }): React.JSX.Element {
  const label = parameter.title || parameter.name;
  const step = parameter.type.endsWith('with-seconds') ? 1 : undefined;
  if (parameter.type === 'enum') {
    const options = (parameter.enumOptions ?? '').split('\n').filter(Boolean);
    return (
      <select aria-label={label} value={String(parameter.value ?? '')} onChange={(event) => onChange(event.target.value)}>
        <option value="" />
        {options.map((option) => (
          <option key={option}>{option}</option>
        ))}
      </select>
    );
  }
  if (parameter.type === 'query') return <QueryDropdown queryId={queryId} parameter={parameter} onChange={onChange} />;
  if (isRange(parameter.type)) {
    const value = (parameter.value ?? {}) as { start?: string; end?: string };
    const type = inputType(parameter.type);
    return (
      <span className="range">
        <input aria-label={`${label} start`} type={type} step={step} value={value.start ?? ''} onChange={(event) => onChange({ ...value, start: event.target.value })} />
        <span>–</span>
        <input aria-label={`${label} end`} type={type} step={step} value={value.end ?? ''} onChange={(event) => onChange({ ...value, end: event.target.value })} />
      </span>
    );
  }
  return (
    <input
      aria-label={label}
      type={inputType(parameter.type)}
      step={step}
      value={String(parameter.value ?? '')}
      onChange={(event) => onChange(parameter.type === 'number' && event.target.value !== '' ? Number(event.target.value) : event.target.value)}
    />
  );
}

/** Edits a parameter's definition: title, type and the type's own settings. */
export function ParameterDefinition({ parameter, onChange }: { parameter: Parameter; onChange: (next: Parameter) => void }): React.JSX.Element {
  return (
    <fieldset className="parameter-definition">
      <legend>{parameter.name}</legend>
      <label>
        Title
        <input value={parameter.title ?? ''} onChange={(event) => onChange({ ...parameter, title: event.target.value })} />
      </label>
      <label>
        Type
        <select value={parameter.type} onChange={(event) => onChange({ ...parameter, type: event.target.value, value: isRange(event.target.value) ? {} : '' })}>
          {PARAMETER_TYPES.map(([value, title]) => (
            <option key={value} value={value}>
              {title}
            </option>
          ))}
        </select>
      </label>
      {parameter.type === 'enum' && (
        <label>
          Values (one a line)
          <textarea value={parameter.enumOptions ?? ''} onChange={(event) => onChange({ ...parameter, enumOptions: event.target.value })} />
        </label>
      )}
      {parameter.type === 'query' && (
        <label>
          Query id
          <input type="number" value={parameter.queryId ?? ''} onChange={(event) => onChange({ ...parameter, queryId: Number(event.target.value) })} />
        </label>
      )}
    </fieldset>
  );
}
