// The options table of docs/operators.md, generated from the configuration schema (keeper/src/config.ts):
// `npx tsx keeper/scripts/gen-options-doc.ts` rewrites it, `--check` fails when it is stale.
import { configFields, kebab, optionSpecs, type ConfigKey, type OptionSpec } from './config.js';

export const TABLE_START = '<!-- options:start -->';
export const TABLE_END = '<!-- options:end -->';

function defaultOf(key: ConfigKey): string {
  const parsed = configFields[key].safeParse(undefined);
  if (!parsed.success) return 'required';
  const value: unknown = parsed.data;
  return value === undefined ? '—' : String(value);
}

export function optionsTable(): string {
  const rows = (Object.entries(optionSpecs) as [ConfigKey, OptionSpec][]).map(([key, s]) => {
    const flag = s.secret ? `file: \`${s.env}_FILE\`` : `\`--${kebab(key)}\``;
    return `| \`${s.env}\` | ${flag} | ${defaultOf(key)} | ${s.help.replace(/\|/g, '\\|')} |`;
  });
  return [
    TABLE_START,
    '<!-- generated from keeper/src/config.ts by keeper/scripts/gen-options-doc.ts: do not edit by hand -->',
    '| variable | flag | default | meaning |',
    '|---|---|---|---|',
    ...rows,
    TABLE_END,
  ].join('\n');
}

/** `doc` with its options table replaced by the generated one. */
export function withOptionsTable(doc: string): string {
  const start = doc.indexOf(TABLE_START);
  const end = doc.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`no ${TABLE_START} ... ${TABLE_END} section`);
  return doc.slice(0, start) + optionsTable() + doc.slice(end + TABLE_END.length);
}
