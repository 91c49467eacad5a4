import { Injectable } from '@nestjs/common';

export interface ReadinessState {
  ok: boolean;
  detail?: string;
}
export type ReadinessCheck = () => ReadinessState | Promise<ReadinessState>;

/**
 * What `/ready` asks. Each component that needs an outside service (Kafka producer, consumer group,
 * database, routing table caught up) registers a check here.
 */
@Injectable()
export class ReadinessRegistry {
  private readonly checks = new Map<string, ReadinessCheck>();

  register(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  async evaluate(timeoutMs = 2000): Promise<{ ready: boolean; checks: Record<string, ReadinessState> }> {
    const entries = await Promise.all(
      [...this.checks].map(async ([name, check]) => {
        try {
          const state = await Promise.race([
            Promise.resolve(check()),
            new Promise<ReadinessState>((resolve) => setTimeout(() => resolve({ ok: false, detail: 'check timed out' }), timeoutMs).unref()),
          ]);
          return [name, state] as const;
        } catch (err) {
          return [name, { ok: false, detail: (err as Error).message }] as const;
        }
      }),
    );
    const checks = Object.fromEntries(entries);
    return { ready: entries.every(([, s]) => s.ok), checks };
  }
}
