import type { INestApplication } from '@nestjs/common';
import { startKafkaConsumers } from '@odis/messaging';
import { bootstrapService } from '@odis/platform';
import { EventIngestModule } from './event-ingest.module.js';
import { loadIngestConfig, type IngestConfig } from './config/event-ingest.config.js';

/** Creates and starts event-ingest (main.ts, and tests that run it in-process with port 0). */
export function startEventIngest(config: IngestConfig = loadIngestConfig()): Promise<INestApplication> {
  return bootstrapService(EventIngestModule.forRoot(config), {
    service: 'event-ingest',
    port: config.PORT,
    logLevel: config.LOG_LEVEL,
    // The ingest route reads its body itself, as raw bytes with the size limit (IngestRequestMiddleware).
    nestOptions: { bodyParser: false },
    configure: startKafkaConsumers,
  });
}
