import type { z } from 'zod';
import { settingDoc, type AnySettingsDefinition, type SettingDoc } from './define-settings.js';

export interface SettingsTableOptions {
  /** Definition names that together are "all apps" in the table (listed once as `all apps`). */
  allApps?: readonly string[];
}

interface Row {
  name: string;
  doc: SettingDoc;
  /** Rendered default per definition name, in order. */
  defaults: Array<[string, string]>;
}

/** How the default of a schema reads in the table: what it parses `undefined` to. */
export function shownDefault(schema: z.ZodType): string {
  const doc = settingDoc(schema);
  if (doc?.shownDefault !== undefined) return doc.shownDefault;
  const parsed = schema.safeParse(undefined);
  if (!parsed.success) return '— (required)';
  const value: unknown = parsed.data;
  if (value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0)) return '—';
  return `\`${Array.isArray(value) ? value.join(',') : String(value)}\``;
}

/**
 * The README settings table: one row per setting, in the order the definitions first name them,
 * with the definitions (apps, CLIs) that read it, its default (per app when they differ) and its
 * meaning. Throws when a setting is undocumented or documented differently in two places.
 */
export function renderSettingsTable(definitions: readonly AnySettingsDefinition[], options: SettingsTableOptions = {}): string {
  const rows = new Map<string, Row>();
  const problems: string[] = [];
  for (const definition of definitions) {
    for (const [name, schema] of Object.entries(definition.shape)) {
      const doc = settingDoc(schema as z.ZodType);
      if (!doc) {
        problems.push(`${name} (${definition.name}) has no description`);
        continue;
      }
      const row = rows.get(name) ?? { name, doc, defaults: [] };
      if (row.doc.description !== doc.description || Boolean(row.doc.setByLocalStack) !== Boolean(doc.setByLocalStack)) {
        problems.push(`${name} is documented differently in ${definition.name} and ${row.defaults.map(([app]) => app).join(', ')}`);
      }
      if (!row.defaults.some(([app]) => app === definition.name)) row.defaults.push([definition.name, shownDefault(schema as z.ZodType)]);
      rows.set(name, row);
    }
  }
  if (problems.length) throw new Error(`settings table:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  const allApps = options.allApps ?? [];
  const lines = ['| setting | apps | default | meaning |', '|---|---|---|---|'];
  for (const row of rows.values()) {
    const apps = row.defaults.map(([app]) => app);
    const coversAll = allApps.length > 0 && allApps.every((a) => apps.includes(a));
    const appsText = coversAll ? ['all apps', ...apps.filter((a) => !allApps.includes(a))].join(', ') : apps.join(', ');
    const distinct = [...new Set(row.defaults.map(([, d]) => d))];
    const defaultText = distinct.length === 1 ? distinct[0] : row.defaults.map(([app, d]) => `${d} ${app}`).join(' · ');
    const cells = [`\`${row.name}\`${row.doc.setByLocalStack ? ' †' : ''}`, appsText, defaultText, row.doc.description];
    lines.push(`| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`);
  }
  return lines.join('\n');
}

export const SETTINGS_TABLE_START = '<!-- settings-table: generated from the settings schemas by `node dist/scripts/settings-table.js` -->';
export const SETTINGS_TABLE_END = '<!-- /settings-table -->';

/** The generated table as it stands in a markdown text (between the markers), or undefined. */
export function extractSettingsTable(markdown: string): string | undefined {
  const start = markdown.indexOf(SETTINGS_TABLE_START);
  const end = markdown.indexOf(SETTINGS_TABLE_END);
  if (start < 0 || end < start) return undefined;
  return markdown.slice(start + SETTINGS_TABLE_START.length, end).trim();
}

/** `markdown` with the table between the markers replaced by `table`. */
export function replaceSettingsTable(markdown: string, table: string): string {
  const start = markdown.indexOf(SETTINGS_TABLE_START);
  const end = markdown.indexOf(SETTINGS_TABLE_END);
  if (start < 0 || end < start) throw new Error(`the settings table markers are missing (${SETTINGS_TABLE_START} … ${SETTINGS_TABLE_END})`);
  return `${markdown.slice(0, start + SETTINGS_TABLE_START.length)}\n${table}\n${markdown.slice(end)}`;
}
