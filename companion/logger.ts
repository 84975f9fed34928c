import { appendFileSync, chmodSync, existsSync } from 'node:fs';
import { join } from 'node:path';

export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  info(area: string, message: string, fields?: LogFields): void;
  warn(area: string, message: string, fields?: LogFields): void;
  error(area: string, message: string, fields?: LogFields): void;
}

/**
 * One line per event worth reading, to `<root>/logs/canopy.log` and stderr. Callers pass
 * identifiers and counts only: never keys, API keys, passwords or message contents.
 */
export function createLogger(logDir: string | null, options: { quiet?: boolean } = {}): Logger {
  const file = logDir ? join(logDir, 'canopy.log') : null;
  // Logs name peers and endpoints: owner-only, also when an earlier version made the file 0644.
  if (file && existsSync(file)) chmodSync(file, 0o600);
  const write = (level: string, area: string, message: string, fields?: LogFields) => {
    const extra = fields
      ? Object.entries(fields)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => `${k}=${typeof v === 'string' && /\s/.test(v) ? JSON.stringify(v) : v}`)
          .join(' ')
      : '';
    const line = `${new Date().toISOString()} ${level} [${area}] ${message}${extra ? ' ' + extra : ''}\n`;
    if (file) {
      try {
        appendFileSync(file, line, { mode: 0o600 });
      } catch {
        // A full disk must not take the node down; stderr still gets the line.
      }
    }
    if (!options.quiet) process.stderr.write(line);
  };
  return {
    info: (area, message, fields) => write('INFO', area, message, fields),
    warn: (area, message, fields) => write('WARN', area, message, fields),
    error: (area, message, fields) => write('ERROR', area, message, fields),
  };
}
