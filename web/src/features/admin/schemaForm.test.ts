import { describe, expect, it } from 'vitest';
import { fieldsOf, optionsFrom } from './schemaForm';

const postgres = {
  name: 'PostgreSQL',
  type: 'pg',
  configuration_schema: {
    type: 'object',
    properties: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'number', default: 5432 },
      password: { type: 'string' },
      dbname: { type: 'string', title: 'Database Name' },
      sslmode: { type: 'string', extendedEnum: [{ value: 'require', name: 'Require' }] },
    },
    order: ['host', 'port', 'password', 'dbname'],
    required: ['dbname'],
    secret: ['password'],
  },
};

describe('data source forms from configuration schemas', () => {
  it('orders fields, marks secrets and required ones, and lists enum choices', () => {
    const fields = fieldsOf(postgres);
    expect(fields.map((field) => [field.name, field.kind, field.required])).toEqual([
      ['host', 'text', false],
      ['port', 'number', false],
      ['password', 'password', false],
      ['dbname', 'text', true],
      ['sslmode', 'select', false],
    ]);
    expect(fields[3]?.title).toBe('Database Name');
    expect(fields[4]?.choices).toEqual([{ value: 'require', name: 'Require' }]);
  });

  it('sends numbers as numbers and drops empty optional fields', () => {
    expect(optionsFrom(fieldsOf(postgres), { host: 'db', port: '6543', password: '', dbname: 'shop' })).toEqual({ host: 'db', port: 6543, dbname: 'shop' });
  });
});
