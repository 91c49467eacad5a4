/**
 * Jest environment of the integration tests: tests are quiet when they pass. Nest/kafkajs log lines
 * written during a test (test/support/quiet-logs.ts buffers them) are printed only when that test,
 * or a hook, fails; otherwise they are dropped. Expected errors of fault tests flood nothing.
 */
import { TestEnvironment } from 'jest-environment-node';

interface CircusEvent {
  name: string;
  test?: { name: string; errors: unknown[] };
  hook?: { type: string };
}

export const LOG_BUFFER_GLOBAL = '__odisTestLogs';

export default class QuietEnvironment extends TestEnvironment {
  private logs(): string[] {
    const g = this.global as unknown as Record<string, string[] | undefined>;
    return (g[LOG_BUFFER_GLOBAL] ??= []);
  }

  async handleTestEvent(event: CircusEvent): Promise<void> {
    const logs = this.logs();
    if (event.name === 'test_start') logs.length = 0;
    else if (event.name === 'test_done' && event.test) {
      if (event.test.errors.length > 0 && logs.length > 0) this.flush(`test "${event.test.name}" failed`, logs);
      logs.length = 0;
    } else if (event.name === 'hook_failure') {
      this.flush(`${event.hook?.type ?? 'a'} hook failed`, logs);
      logs.length = 0;
    }
  }

  private flush(why: string, logs: string[]): void {
    process.stderr.write(`\n--- ${why}: its log (${logs.length} lines) ---\n${logs.join('\n')}\n--- end of log ---\n`);
  }
}
