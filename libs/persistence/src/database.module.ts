import { Global, Injectable, Logger, Module, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ReadinessRegistry, retryWithBackoff } from '@odis/platform';
import { dataSourceOptions } from './data-source.js';

export const DATABASE_URL = Symbol('DATABASE_URL');

/**
 * Connects the app's DataSource in the background with backoff, so a database that is down at
 * start is waited for and reported on `/ready` instead of crashing the process.
 */
@Injectable()
export class DatabaseConnector implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Database');
  private readonly abort = new AbortController();
  private lastError: string | undefined;
  private connecting: Promise<void> | undefined;

  constructor(
    private readonly dataSource: DataSource,
    private readonly readiness: ReadinessRegistry,
  ) {
    this.readiness.register('postgres', async () => {
      if (!this.dataSource.isInitialized) return { ok: false, detail: this.lastError ?? 'connecting' };
      try {
        await this.dataSource.query('SELECT 1');
        return { ok: true };
      } catch (err) {
        return { ok: false, detail: (err as Error).message };
      }
    });
  }

  onApplicationBootstrap(): void {
    void this.connect();
  }

  /** Resolves once connected (starts connecting if nothing has yet). */
  connect(): Promise<void> {
    this.connecting ??= retryWithBackoff(
      async () => {
        if (!this.dataSource.isInitialized) await this.dataSource.initialize();
        this.lastError = undefined;
        this.logger.log('connected to Postgres');
      },
      {
        signal: this.abort.signal,
        maxMs: 5000,
        onError: (err, attempt, wait) => {
          this.lastError = (err as Error).message;
          this.logger.warn(`Postgres not reachable (${this.lastError}); retry ${attempt} in ${wait} ms`);
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
  static forRoot(url: string): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [TypeOrmModule.forRoot({ ...dataSourceOptions(url), manualInitialization: true } as never)],
      providers: [DatabaseConnector, { provide: DATABASE_URL, useValue: url }],
      exports: [DatabaseConnector, DATABASE_URL],
    };
  }
}

