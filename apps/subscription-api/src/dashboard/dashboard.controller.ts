import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { DashboardAssets } from './dashboard-assets.js';

/**
 * Only this origin's scripts, styles and API calls: no inline script or style, no framing, no
 * form posts elsewhere, no <base>. docs/decisions/0012-dashboard.md
 */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

/**
 * "Settings → Webhooks": GET /dashboard (the HTML shell) and GET /dashboard/assets/{file} (its ES
 * modules and stylesheet, web/). The pages call the public API with the key the user pastes.
 */
@ApiExcludeController()
@Controller('dashboard')
export class DashboardController {
  private readonly assets = new DashboardAssets();

  @Get()
  page(@Res() res: Response): void {
    this.send(res, 'index.html');
  }

  @Get('assets/:file')
  asset(@Param('file') file: string, @Res() res: Response): void {
    this.send(res, file === 'index.html' ? '' : file);
  }

  private send(res: Response, name: string): void {
    res.setHeader('Content-Security-Policy', DASHBOARD_CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cache-Control', 'no-cache');
    const asset = name ? this.assets.get(name) : null;
    if (!asset) {
      res.status(404).type('text/plain; charset=utf-8').send(name === 'index.html' ? 'The dashboard is not built (npm run build).' : 'Not found');
      return;
    }
    res.status(200).setHeader('Content-Type', asset.contentType);
    res.end(asset.body);
  }
}
