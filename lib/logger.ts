/** The extension's one logger: every line is tagged so it is easy to find among a browser's console noise. */
type Level = 'debug' | 'info' | 'warn' | 'error';

function log(level: Level, message: string, details?: unknown): void {
  if (details === undefined) console[level]('[gleaner]', message);
  else console[level]('[gleaner]', message, details);
}

export const logger = {
  debug: (message: string, details?: unknown) => log('debug', message, details),
  info: (message: string, details?: unknown) => log('info', message, details),
  warn: (message: string, details?: unknown) => log('warn', message, details),
  error: (message: string, details?: unknown) => log('error', message, details),
};
