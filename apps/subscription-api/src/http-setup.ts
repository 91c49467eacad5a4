import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import express from 'express';
import { bodyParserErrorHandler } from './errors/api-exception.filter.js';
import type { SubscriptionApiConfig } from './config.js';

/** Body parsing with a size limit and JSON errors, and the OpenAPI document at /docs. */
export function configureHttp(app: INestApplication, config: SubscriptionApiConfig): void {
  app.use(express.json({ limit: config.API_MAX_BODY_BYTES, type: () => true, strict: false }));
  app.use(bodyParserErrorHandler);
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('ODIS Webhooks API')
      .setDescription('Register endpoints for ODIS AI events (call.started, call.ended, appointment.created), inspect deliveries.')
      .setVersion('1.0')
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'Your ODIS API key' })
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json' });
}
