import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { DASHBOARD_HTML } from './dashboard.page.js';

@ApiExcludeController()
@Controller()
export class DashboardController {
  @Get('dashboard')
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Content-Security-Policy', "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'")
  page(): string {
    return DASHBOARD_HTML;
  }
}
