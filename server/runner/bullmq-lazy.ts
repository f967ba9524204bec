/**
 * The BullMQ runner as the facade holds it: loaded on first use, since bullmq
 * and ioredis are optional dependencies an app on the local runner need not
 * install.
 */
import type { OperationRunner } from '../sessions/session-service.ts';
import type { BullmqOptions } from './bullmq-options.ts';
import type { BullmqRunner } from './bullmq-runner.ts';
import type { OperationRegistry } from './operations.ts';
import type { Announce } from './waiting-line.ts';

export class LazyBullmqRunner implements OperationRunner {
  readonly #runner: Promise<BullmqRunner>;
  constructor(
    private readonly operations: OperationRegistry,
    options: BullmqOptions,
    announce: Announce,
  ) {
    this.#runner = import('./bullmq-runner.ts').then(
      ({ BullmqRunner }) => new BullmqRunner(operations, options, announce),
    );
  }
  spec(name: string) {
    return this.operations.get(name);
  }
  async run(name: string, sessionId: string, input: unknown): Promise<void> {
    await (await this.#runner).run(name, sessionId, input);
  }
  async cancel(sessionId: string): Promise<void> {
    await (await this.#runner).cancel?.(sessionId);
  }
  async close(): Promise<void> {
    await (await this.#runner).close();
  }
}
