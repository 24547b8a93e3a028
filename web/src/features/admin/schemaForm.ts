// Fields of a data source form from its kind's configuration schema (Redash's JSON-schema subset:
// `properties`, `order`, `required`, `secret`, `extendedEnum`).
import type { DataSourceType } from './api';

export interface Field {
  name: string;
  title: string;
  kind: 'text' | 'number' | 'checkbox' | 'password' | 'select' | 'textarea';
  required: boolean;
  defaultValue: unknown;
  choices?: { value: string; name: string }[];
}

/** Redash compat: a secret already stored is shown and sent back as this mask, which keeps it. */
export const SECRET_MASK = '--------';

function titleOf(name: string): string {
  return name.replace(/_/g, ' ').replace(/^./, (first) => first.toUpperCase());
}

export function fieldsOf(kind: DataSourceType): Field[] {
  const schema = kind.configuration_schema;
  const properties = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
  const order = [...(schema.order ?? []), ...Object.keys(properties).filter((name) => !(schema.order ?? []).includes(name))];
  const required = new Set(schema.required ?? []);
  const secret = new Set(schema.secret ?? []);
  return order
    .filter((name) => properties[name])
    .map((name) => {
      const property = properties[name] as Record<string, unknown>;
      const extended = property.extendedEnum as { value: string; name: string }[] | undefined;
      const plainEnum = property.enum as string[] | undefined;
      const choices = extended ?? plainEnum?.map((value) => ({ value, name: value }));
      const type = property.type as string | undefined;
      const kind: Field['kind'] = choices
        ? 'select'
        : secret.has(name)
          ? 'password'
          : type === 'boolean'
            ? 'checkbox'
            : type === 'number' || type === 'integer'
              ? 'number'
              : name.endsWith('json') || name === 'query'
                ? 'textarea'
                : 'text';
      return { name, title: (property.title as string | undefined) ?? titleOf(name), kind, required: required.has(name), defaultValue: property.default, choices };
    });
}

/** The options a form sends: empty optional fields dropped, numbers as numbers. */
export function optionsFrom(fields: Field[], values: Record<string, unknown>): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const field of fields) {
    const value = values[field.name];
    if (value === undefined || value === '' || value === null) continue;
    options[field.name] = field.kind === 'number' ? Number(value) : value;
  }
  return options;
}
