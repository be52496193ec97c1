/**
 * The daemon's log: logrus-style lines on stderr (`time="..." level=info msg="..."`), filtered by level.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'fatal';
const order: LogLevel[] = ['debug', 'info', 'warn', 'error', 'fatal'];

export class Logger {
  private threshold: number;
  constructor(level: LogLevel = 'info', private readonly out: NodeJS.WritableStream = process.stderr) {
    this.threshold = order.indexOf(level);
  }
  get debugEnabled(): boolean {
    return this.threshold === 0;
  }
  setLevel(level: LogLevel): void {
    this.threshold = order.indexOf(level);
  }
  private log(level: LogLevel, msg: string): void {
    if (order.indexOf(level) < this.threshold) return;
    this.out.write(`time="${new Date().toISOString()}" level=${level} msg=${JSON.stringify(msg)}\n`);
  }
  debug(msg: string): void { this.log('debug', msg); }
  info(msg: string): void { this.log('info', msg); }
  warn(msg: string): void { this.log('warn', msg); }
  error(msg: string): void { this.log('error', msg); }
}

export function isLogLevel(s: string): s is LogLevel {
  return (order as string[]).includes(s);
}
