import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import express from 'express';
import { checkInputSafety, verifyUtf8 } from './errors/input-safety.js';
import type { SubscriptionApiConfig } from './config/subscription-api.config.js';
import { apiErrorMiddleware } from '@odis/platform';
import { SubscriptionApiErrorMapper } from './errors/subscription-api-error.mapper.js';

/** Body parsing with a size limit, UTF-8 check and JSON errors, input safety checks, and the OpenAPI document at /docs. */
export function configureHttp(app: INestApplication, config: SubscriptionApiConfig): void {
  if (config.API_TRUST_PROXY.trim() !== '') {
    const value = config.API_TRUST_PROXY.trim();
    (app.getHttpAdapter().getInstance() as express.Application).set('trust proxy', /^\d+$/.test(value) ? Number(value) : value);
  }
  app.use(express.json({ limit: config.API_MAX_BODY_BYTES, type: () => true, strict: false, verify: verifyUtf8 }));
  // NUL characters and nesting depth of every body and query (path ids: IdParamPipe).
  app.use(checkInputSafety);
  app.use(apiErrorMiddleware(new SubscriptionApiErrorMapper()));
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
