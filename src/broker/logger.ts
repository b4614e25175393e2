// Routes broker log lines to the `logger` option; a level the logger lacks is silently dropped.
import type { BrokerLogger, LogLevel } from './options';

export class Log {
  constructor(private readonly logger: BrokerLogger | undefined) {}

  /** Whether a line at this level goes anywhere: check before building an expensive one. */
  enabled(level: LogLevel): boolean {
    return this.logger?.[level] !== undefined;
  }

  at(level: LogLevel, message: string): void {
    const fn = this.logger?.[level];
    if (fn !== undefined) fn.call(this.logger, message);
  }

  debug(message: string): void {
    this.at('debug', message);
  }
  info(message: string): void {
    this.at('info', message);
  }
  warn(message: string): void {
    this.at('warn', message);
  }
  error(message: string): void {
    this.at('error', message);
  }
}
