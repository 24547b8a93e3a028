// Redash's query parameters: found in the text as `{{ name }}`, defined in `options.parameters`.
import type { Parameter } from './api';

export const PARAMETER_TYPES: [string, string][] = [
  ['text', 'Text'],
  ['number', 'Number'],
  ['enum', 'Dropdown list'],
  ['query', 'Query based dropdown list'],
  ['date', 'Date'],
  ['datetime-local', 'Date and time'],
  ['datetime-with-seconds', 'Date and time (with seconds)'],
  ['date-range', 'Date range'],
  ['datetime-range', 'Date and time range'],
  ['datetime-range-with-seconds', 'Date and time range (with seconds)'],
];

/** Names of the parameters used in the text, in order of first use. Mustache sections
 *  (`{{#x}}`, `{{/x}}`) and dotted range parts (`{{ period.start }}`) count once by their base. */
export function parametersInText(text: string): string[] {
  const names: string[] = [];
  for (const match of text.matchAll(/\{\{\s*([^\s{}#/^!>&][^\s{}]*)\s*\}\}/g)) {
    const name = (match[1] ?? '').replace(/\.(start|end)$/, '');
    if (name && !names.includes(name)) names.push(name);
  }
  return names;
}

/** The definitions for the text: existing ones kept, new names added as text parameters. */
export function syncParameters(definitions: Parameter[], text: string): Parameter[] {
  const names = parametersInText(text);
  const known = new Map(definitions.map((definition) => [definition.name, definition]));
  return names.map((name) => known.get(name) ?? { name, title: name, type: 'text', value: '' });
}

export function isRange(type: string): boolean {
  return type.endsWith('range') || type.endsWith('range-with-seconds');
}

/** The `parameters` object a run sends: each parameter's current value. */
export function parameterValues(definitions: Parameter[]): Record<string, unknown> {
  return Object.fromEntries(definitions.map((definition) => [definition.name, definition.value ?? null]));
}
