import { z } from 'zod';
import { loadConfig, type ConfigRule } from './load-config.js';

/** What the README settings table says about one setting, next to its schema (zod metadata). */
export interface SettingDoc {
  /** The "meaning" column. */
  description: string;
  /** The "default" column when the parsed default does not say it well (e.g. `statement + 1000`). */
  shownDefault?: string;
  /** Set for you by `npm start` (marked † in the table). */
  setByLocalStack?: boolean;
}

/** Attaches the table's documentation to a setting's schema (parsing is unchanged). */
export function documented<T extends z.ZodType>(schema: T, doc: SettingDoc): T {
  return schema.meta({ ...doc }) as T;
}

/** The documentation of a setting's schema: its `.describe()` text or what `documented` attached. */
export function settingDoc(schema: z.ZodType): SettingDoc | undefined {
  const meta = z.globalRegistry.get(schema) as Partial<SettingDoc> | undefined;
  return meta?.description === undefined ? undefined : (meta as SettingDoc);
}

/** The loaded, frozen settings of a schema. */
export type SettingsValue<S extends z.ZodRawShape> = Readonly<z.infer<z.ZodObject<S>>>;

/** A Nest injection token standing for loaded settings: an (abstract) class, so `@Inject(token)` is typed and named. */
export type SettingsToken<T> = abstract new () => T;

export interface SettingsDefinition<S extends z.ZodRawShape> {
  /** Who reads these settings (an app or a CLI); the "apps" column of the README table. */
  readonly name: string;
  readonly shape: S;
  readonly rules: readonly ConfigRule<z.infer<z.ZodObject<S>>>[];
  /** Nest injection token of the loaded settings (`{ provide: token, useValue: load() }`). */
  readonly token: SettingsToken<SettingsValue<S>>;
  /** Validates `env` once (default: the process environment); a problem throws a ConfigError naming every bad setting. */
  load(env?: NodeJS.ProcessEnv): SettingsValue<S>;
}

/** The TypeScript type of the settings a definition loads. */
export type SettingsOf<D> = D extends SettingsDefinition<infer S> ? SettingsValue<S> : never;

/** Any definition, for code that only reads names and schemas (the settings table). */
export interface AnySettingsDefinition {
  readonly name: string;
  readonly shape: z.ZodRawShape;
}

/**
 * One schema of settings for `name`, giving its loader (`load(env = process.env)`), its Nest
 * injection token (an abstract class named after it) and, via `SettingsOf<typeof x>`, its type.
 * Build the shape from the shared parts (`kafkaConsumerSettings`, `databaseSettings`, …) and the
 * app's own settings; document each one (`.describe()` or `documented`) for the README table.
 * This (with `loadConfig`) is the only place that reads `process.env`.
 */
export function defineSettings<S extends z.ZodRawShape>(
  name: string,
  shape: S,
  rules: readonly ConfigRule<z.infer<z.ZodObject<S>>>[] = [],
): SettingsDefinition<S> {
  const className = `${name.replace(/(^|[^A-Za-z0-9])([A-Za-z0-9])/g, (_m, _s, c: string) => c.toUpperCase()).replace(/[^A-Za-z0-9]/g, '')}Settings`;
  const token = { [className]: class {} }[className] as unknown as SettingsToken<SettingsValue<S>>;
  return {
    name,
    shape,
    rules,
    token,
    load: (env: NodeJS.ProcessEnv = process.env) => loadConfig(shape, env, rules),
  };
}
