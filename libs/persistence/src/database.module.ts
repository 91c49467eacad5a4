import { Global, Inject, Injectable, Optional, Logger, Module, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { retryWithBackoff } from '@odis/config';
import { ReadinessRegistry } from '@odis/platform';
import { dataSourceOptions, DEFAULT_DATABASE_SETTINGS, type DatabaseSettings } from './data-source.js';
import { appliedMigrations, schemaVersionProblem } from './schema-version.js';

export const DATABASE_URL = Symbol('DATABASE_URL');
export const DATABASE_SETTINGS = Symbol('DATABASE_SETTINGS');

/** The database answers, but lacks migrations this build expects. */
class SchemaBehindError extends Error {}

/**
 * Connects the app's DataSource in the background with backoff, so a database that is down at
 * start is waited for and reported on `/ready` instead of crashing the process. It also waits for
 * the schema: until every migration this build expects is applied (the migrate Job of a rollout),
 * `connect()` does not resolve and `/ready` is red with the missing migrations.
 */
@Injectable()
export class DatabaseConnector implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Database');
  private readonly abort = new AbortController();
  private lastError: string | undefined;
  private connecting: Promise<void> | undefined;
  private schemaCurrent = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly readiness: ReadinessRegistry,
    @Optional() @Inject(DATABASE_SETTINGS) private readonly settings: DatabaseSettings = DEFAULT_DATABASE_SETTINGS,
  ) {
    this.readiness.register('postgres', () => this.check());
  }

  /**
   * One `SELECT 1`, bounded by the connect timeout (never longer than 2 s) on top of the pool's own
   * bounds, so `/ready` answers while Postgres is stopped or paused.
   */
  async check(): Promise<{ ok: boolean; detail?: string }> {
    if (!this.dataSource.isInitialized) return { ok: false, detail: this.lastError ?? 'connecting' };
    const boundMs = Math.min(this.settings.connectTimeoutMs, 2_000);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.dataSource.query('SELECT 1'),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`Postgres did not answer within ${boundMs} ms`)), boundMs);
        }),
      ]);
      return this.schemaCurrent ? { ok: true } : { ok: false, detail: this.lastError ?? 'checking the schema version' };
    } catch (err) {
      return { ok: false, detail: (err as Error).message };
    } finally {
      clearTimeout(timer);
    }
  }

  onApplicationBootstrap(): void {
    void this.connect();
  }

  /** Resolves once connected (starts connecting if nothing has yet). */
  connect(): Promise<void> {
    this.connecting ??= retryWithBackoff(
      async () => {
        if (!this.dataSource.isInitialized) {
          await this.dataSource.initialize();
          this.logger.log('connected to Postgres');
        }
        const problem = schemaVersionProblem(await appliedMigrations(this.dataSource));
        if (problem) throw new SchemaBehindError(problem);
        this.schemaCurrent = true;
        this.lastError = undefined;
      },
      {
        signal: this.abort.signal,
        maxMs: 5000,
        onError: (err, attempt, wait) => {
          this.lastError = (err as Error).message;
          if (err instanceof SchemaBehindError) this.logger.warn(`waiting for the migrations: ${this.lastError}; checking again in ${wait} ms`);
          else this.logger.warn(`Postgres not reachable (${this.lastError}); retry ${attempt} in ${wait} ms`);
        },
      },
    ).catch(() => undefined);
    return this.connecting;
  }

  async onApplicationShutdown(): Promise<void> {
    this.abort.abort();
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

@Global()
@Module({})
export class DatabaseModule {
  /** `settings`: the app's time bounds and pool size (`databaseSettingsFrom(config)`); defaults otherwise. */
  static forRoot(url: string, settings: Partial<DatabaseSettings> = {}): DynamicModule {
    const resolved: DatabaseSettings = { ...DEFAULT_DATABASE_SETTINGS, ...settings };
    return {
      module: DatabaseModule,
      imports: [TypeOrmModule.forRoot({ ...dataSourceOptions(url, {}, settings), manualInitialization: true } as never)],
      providers: [DatabaseConnector, { provide: DATABASE_URL, useValue: url }, { provide: DATABASE_SETTINGS, useValue: resolved }],
      exports: [DatabaseConnector, DATABASE_URL, DATABASE_SETTINGS],
    };
  }
}

