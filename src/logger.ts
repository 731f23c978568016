import pino, { type Logger } from 'pino';

/** Structured logs; tokens and cookies never reach them, personal IDs are masked where they are logged. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'school-fees' },
      redact: { paths: ['headers.authorization', 'headers.cookie', '*.access_token', '*.id_token', '*.password'], censor: '[redacted]' },
    },
    destination,
  );
}
