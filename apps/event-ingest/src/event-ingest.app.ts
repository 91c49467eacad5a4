import type { INestApplication } from '@nestjs/common';
import type { Express, NextFunction, Request, Response } from 'express';
import { startKafkaConsumers } from '@odis/messaging';
import { bootstrapService } from '@odis/platform';
import { EventIngestModule } from './event-ingest.module.js';
import { IngestRequestMiddleware } from './http/ingest-request.middleware.js';
import { loadIngestConfig, type IngestConfig } from './config/event-ingest.config.js';

/** Creates and starts event-ingest (main.ts, and tests that run it in-process with port 0). */
export function startEventIngest(config: IngestConfig = loadIngestConfig()): Promise<INestApplication> {
  return bootstrapService(EventIngestModule.forRoot(config), {
    service: 'event-ingest',
    port: config.PORT,
    logLevel: config.LOG_LEVEL,
    observability: config,
    // The ingest route reads its body itself, as raw bytes with the size limit (IngestRequestMiddleware).
    nestOptions: { bodyParser: false },
    configure: async (app) => {
      // `POST /v1/events` is the first route of express (registered before Nest adds its own), answered
      // by IngestRequestMiddleware: per event, express' walk through Nest's layers cost more than
      // validating the event (docs/decisions/0008).
      const ingest = app.get(IngestRequestMiddleware);
      (app.getHttpAdapter().getInstance() as Express).post('/v1/events', (req: Request, res: Response, next: NextFunction) => ingest.use(req, res, next));
      await startKafkaConsumers(app);
    },
  });
}
