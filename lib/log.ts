/**
 * One JSON line per event, with the request id and upload/user ids where known. Values under keys that
 * name secrets are replaced before anything is written, so a careless `log.info('x', { config })`
 * cannot leak a SecretKey, a JWT or a full upload signature.
 */
import { types } from 'node:util';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_KEY_NAME =
  /secret|password|passwd|token|authorization|signature|^sign$|signkey|cookie|credential|private|^key$|playbackkey|hotlinkkey|psign/i;
const MAX_DEPTH = 6;

export type LogFields = Record<string, unknown>;
export type LogSink = (line: string) => void;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger whose lines carry these fields too (request id, upload id, user id). */
  child(fields: LogFields): Logger;
}

/** Replaces secret-looking values and flattens errors to name + message (stacks only for non-HTTP errors). */
export function redact(value: unknown, depth = 0): unknown {
  if (value instanceof Error || types.isNativeError(value)) {
    const { status, code, cause } = value as { status?: unknown; code?: unknown; cause?: unknown };
    return {
      name: value.name,
      message: value.message,
      // The code (ECONNREFUSED, 53300, InvalidParameter…) and the cause are what an operator needs.
      ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
      ...(cause !== undefined && depth < MAX_DEPTH ? { cause: redact(cause, depth + 1) } : {}),
      ...(typeof status === 'number' ? {} : { stack: value.stack }),
    };
  }
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[truncated]';
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = SECRET_KEY_NAME.test(key) && item !== undefined && item !== null ? '[redacted]' : redact(item, depth + 1);
  }
  return out;
}

// Process-wide, so that every bundle loaded into one process (the local gateway, tests) writes
// through the same sink.
const sinkKey = Symbol.for('vod-upload-backend.logSink');
const holder = globalThis as { [sinkKey]?: LogSink };
const defaultSink: LogSink = (line) => process.stdout.write(`${line}\n`);
const sink: LogSink = (line) => (holder[sinkKey] ?? defaultSink)(line);

/** Captures log lines (tests scan them for secrets; the gateway prefixes them). Returns the previous sink. */
export function setLogSink(next: LogSink): LogSink {
  const previous = holder[sinkKey] ?? defaultSink;
  holder[sinkKey] = next;
  return previous;
}

export function createLogger(base: LogFields = {}, level: LogLevel = 'info'): Logger {
  const threshold = LEVELS[level];
  const write = (lineLevel: LogLevel, message: string, fields?: LogFields) => {
    if (LEVELS[lineLevel] < threshold) return;
    const record = redact({ ...base, ...fields }) as LogFields;
    sink(JSON.stringify({ time: new Date().toISOString(), level: lineLevel, msg: message, ...record }));
  };
  return {
    debug: (message, fields) => write('debug', message, fields),
    info: (message, fields) => write('info', message, fields),
    warn: (message, fields) => write('warn', message, fields),
    error: (message, fields) => write('error', message, fields),
    child: (fields) => createLogger({ ...base, ...fields }, level),
  };
}
