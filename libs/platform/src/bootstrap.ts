import 'reflect-metadata';
import { Logger, type INestApplication, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigError } from '@odis/config';
import type { NextFunction, Request, Response } from 'express';
import { AppLogger, resolveLogFormat } from './observability/app-logger.js';
import { extractFromHttpHeaders, SpanKind, startTracing, withSpan } from './observability/tracing.js';

export interface BootstrapOptions {
  service: string;
  port: number;
  host?: string;
  logLevel?: LogLevel;
  /** Extra NestFactory options (e.g. `bodyParser: false` when the app installs its own). */
  nestOptions?: Record<string, unknown>;
  /** Runs after the app is created and before it listens (middleware, swagger, transports). */
  configure?: (app: INestApplication) => void | Promise<void>;
  /** The app's observability settings (decision 0018): log format and the OTLP endpoint. */
  observability?: { LOG_FORMAT?: string; NODE_ENV?: string; OTEL_EXPORTER_OTLP_ENDPOINT?: string; OTEL_SERVICE_NAME?: string };
}

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/**
 * Creates, configures and starts one service. Configuration errors stop it at once with the
 * message naming the setting (exit code 78, EX_CONFIG); everything else that needs an outside
 * service connects in the background and is reported on `/ready`.
 */
export async function bootstrapService(module: unknown, options: BootstrapOptions): Promise<INestApplication> {
  const level = options.logLevel ?? 'log';
  const obs = options.observability ?? {};
  const tracing = startTracing({ serviceName: obs.OTEL_SERVICE_NAME ?? options.service, otlpEndpoint: obs.OTEL_EXPORTER_OTLP_ENDPOINT });
  const logger = new AppLogger({ app: options.service, format: resolveLogFormat(obs.LOG_FORMAT, obs.NODE_ENV), levels: LEVELS.slice(0, LEVELS.indexOf(level) + 1) });
  const app = await NestFactory.create(module as never, {
    logger,
    bufferLogs: false,
    ...options.nestOptions,
  });
  app.enableShutdownHooks();
  // Every request runs in a server span: a child of the caller's `traceparent`, else a new trace (decision 0018).
  app.use((req: Request, res: Response, next: NextFunction) =>
    withSpan(
      `http ${req.method}`,
      (span) => {
        res.once('close', () => {
          span.setAttribute('http.response.status_code', res.statusCode);
          span.end();
        });
        next();
      },
      { parent: extractFromHttpHeaders(req.headers), kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method }, end: 'manual' },
    ),
  );
  // Spans still buffered are exported when the app closes (SIGTERM included: enableShutdownHooks).
  const close = app.close.bind(app);
  app.close = async () => {
    await close();
    await tracing.shutdown().catch(() => undefined);
  };
  await options.configure?.(app);
  await app.listen(options.port, options.host ?? '0.0.0.0');
  new Logger(options.service).log(`${options.service} listening on ${await app.getUrl()}`);
  return app;
}

/**
 * Wraps a service's main(): a ConfigError prints its message and exits 78, other errors exit 1.
 * main() may throw synchronously too (e.g. a config loaded in a default parameter).
 */
export function runMain(service: string, main: () => Promise<unknown>): Promise<void> {
  return Promise.resolve()
    .then(main)
    .then(
      () => undefined,
      (err: unknown) => {
        if (err instanceof ConfigError) {
          process.stderr.write(`${service}: ${err.message}\n`);
          process.exit(78);
        } else {
          process.stderr.write(`${service}: failed to start: ${(err as Error)?.stack ?? String(err)}\n`);
          process.exit(1);
        }
      },
    );
}
