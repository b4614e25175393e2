// Routes broker log lines to the `logger` option; a level the logger lacks is silently dropped.
import type { BrokerLogger, LogLevel } from './options';

export class Log {
  /** Whether clients connecting, subscribing, taken over or timing out are logged (BrokerLogger.clientEvents). */
  private readonly clientEvents: boolean;

  constructor(private readonly logger: BrokerLogger | undefined) {
    this.clientEvents = logger?.clientEvents !== false;
  }

  /** Whether a line at this level goes anywhere: check before building an expensive one. */
  enabled(level: LogLevel): boolean {
    return this.logger?.[level] !== undefined;
  }

  /** Whether a line about a client's own comings and goings goes anywhere. */
  clientEventEnabled(level: LogLevel): boolean {
    return this.clientEvents && this.enabled(level);
  }

  /** A line about a client's own comings and goings, which a logger may leave to the broker's events. */
  clientEvent(level: LogLevel, message: string): void {
    if (this.clientEvents) this.at(level, message);
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
