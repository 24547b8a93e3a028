// The SQL editor: CodeMirror 6 with completion from the data source's schema and the
// organization's snippets, and the editor's keyboard shortcuts (run, save, format).
import { useEffect, useRef } from 'react';
import { EditorView, keymap, placeholder } from '@codemirror/view';
import { Compartment, EditorState, Prec } from '@codemirror/state';
import { basicSetup } from 'codemirror';
import { sql, PostgreSQL, type SQLNamespace } from '@codemirror/lang-sql';
import { type Completion, type CompletionContext } from '@codemirror/autocomplete';
import { HighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { tags } from '@lezer/highlight';
import type { SchemaTable } from './api';

// Token colours from the app's theme variables, so the editor reads well in light and dark.
const sqlHighlight = HighlightStyle.define([
  { tag: tags.keyword, color: 'var(--code-keyword)', fontWeight: '600' },
  { tag: [tags.string, tags.special(tags.string)], color: 'var(--code-string)' },
  { tag: [tags.number, tags.bool, tags.null], color: 'var(--code-number)' },
  { tag: [tags.comment, tags.lineComment, tags.blockComment], color: 'var(--muted)', fontStyle: 'italic' },
  { tag: [tags.typeName, tags.standard(tags.name)], color: 'var(--code-type)' },
  { tag: tags.operator, color: 'var(--fg)' },
]);

export interface Snippet {
  trigger: string;
  snippet: string;
  description?: string;
}

interface Props {
  value: string;
  onChange: (value: string) => void;
  schema: SchemaTable[];
  snippets: Snippet[];
  onRun: () => void;
  onSave: () => void;
  onFormat: () => void;
  readOnly?: boolean;
}

/** The schema as CodeMirror's completion namespace: table → column names (with types). */
export function toNamespace(schema: SchemaTable[]): SQLNamespace {
  const namespace: Record<string, Completion[]> = {};
  for (const table of schema) {
    namespace[table.name] = table.columns.map((column) =>
      typeof column === 'string' ? { label: column, type: 'property' } : { label: column.name, type: 'property', detail: column.type ?? undefined },
    );
  }
  return namespace;
}

function snippetSource(snippets: Snippet[]) {
  return (context: CompletionContext) => {
    const word = context.matchBefore(/\w+/);
    if (!word || (word.from === word.to && !context.explicit)) return null;
    return {
      from: word.from,
      options: snippets.map((snippet) => ({ label: snippet.trigger, detail: snippet.description || 'snippet', type: 'text', apply: snippet.snippet, boost: -1 })),
    };
  };
}

export function SqlEditor({ value, onChange, schema, snippets, onRun, onSave, onFormat, readOnly }: Props): React.JSX.Element {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const language = useRef(new Compartment());
  const completion = useRef(new Compartment());
  // The keymap calls the latest callbacks without rebuilding the editor.
  const handlers = useRef({ onChange, onRun, onSave, onFormat });
  handlers.current = { onChange, onRun, onSave, onFormat };

  useEffect(() => {
    if (!host.current) return;
    const shortcuts = Prec.highest(
      keymap.of([
        { key: 'Mod-Enter', run: () => (handlers.current.onRun(), true) },
        { key: 'Mod-s', run: () => (handlers.current.onSave(), true), preventDefault: true },
        { key: 'Mod-Shift-f', run: () => (handlers.current.onFormat(), true) },
      ]),
    );
    const editor = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: value,
        extensions: [
          shortcuts,
          basicSetup,
          syntaxHighlighting(sqlHighlight),
          placeholder('SELECT …'),
          language.current.of(sql({ dialect: PostgreSQL })),
          completion.current.of([]),
          EditorState.readOnly.of(Boolean(readOnly)),
          EditorView.contentAttributes.of({ 'aria-label': 'SQL editor' }),
          EditorView.updateListener.of((update) => {
            if (update.docChanged) handlers.current.onChange(update.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = editor;
    return () => {
      editor.destroy();
      view.current = null;
    };
    // The editor is built once; `value` changes from outside are applied below.
  }, []);

  useEffect(() => {
    const editor = view.current;
    if (editor && editor.state.doc.toString() !== value) {
      editor.dispatch({ changes: { from: 0, to: editor.state.doc.length, insert: value } });
    }
  }, [value]);

  useEffect(() => {
    const editor = view.current;
    if (!editor) return;
    const namespace = toNamespace(schema);
    const dialect = sql({ dialect: PostgreSQL, schema: namespace, upperCaseKeywords: true });
    editor.dispatch({
      effects: [
        language.current.reconfigure(dialect),
        completion.current.reconfigure(dialect.language.data.of({ autocomplete: snippetSource(snippets) })),
      ],
    });
  }, [schema, snippets]);

  return <div className="sql-editor" ref={host} data-testid="sql-editor" />;
}

/** Inserts text at the cursor of the editor inside `container` (the schema browser uses it). */
export function insertIntoEditor(container: HTMLElement | null, text: string): void {
  const element = container?.querySelector('.cm-editor');
  const editor = element ? EditorView.findFromDOM(element as HTMLElement) : null;
  if (!editor) return;
  const { from, to } = editor.state.selection.main;
  editor.dispatch({ changes: { from, to, insert: text }, selection: { anchor: from + text.length } });
  editor.focus();
}
