import { Controller, Get, NotFoundException, Param } from '@nestjs/common';
import { EVENT_TYPES } from '@odis/contracts';
import { EVENT_BIT } from '../routing/route.js';
import { RoutingTable } from '../routing/routing-table.js';

/**
 * `GET /routing/subscriptions/:id`: what this dispatcher currently routes for one webhook (never its
 * secret), for operators asking "why does this webhook not receive?" and for tests waiting until a
 * snapshot has been applied.
 */
@Controller('routing')
export class RoutingController {
  constructor(private readonly table: RoutingTable) {}

  @Get('subscriptions/:id')
  subscription(@Param('id') id: string) {
    const route = this.table.get(id);
    if (!route) throw new NotFoundException({ error: { code: 'not_found', message: this.table.isDeleted(id) ? 'deleted' : 'unknown to this dispatcher', field: 'id' } });
    return {
      id: route.id,
      account_id: route.accountId,
      url: route.url,
      events: EVENT_TYPES.filter((t) => route.eventMask & EVENT_BIT[t]),
      status: route.active ? 'active' : 'disabled',
      version: route.version,
    };
  }
}
