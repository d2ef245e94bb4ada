/**
 * What every function creates once per instance, at module scope, and reuses across warm invocations:
 * the validated config (a bad environment fails at init, naming the variable), a logger, and a lazily
 * opened database (a failed open is retried on the next invocation rather than cached).
 */
import { loadConfig, type Config, type ConfigNeeds } from '#lib/config';
import { openDatabase, type Database } from '#lib/db';
import { createLogger, type Logger } from '#lib/log';

export interface FunctionRuntime {
  config: Config;
  log: Logger;
  database(): Promise<Database>;
}

export function createRuntime(
  functionName: string,
  needs: ConfigNeeds,
  env: Record<string, string | undefined> = process.env,
): FunctionRuntime {
  const config = loadConfig(env, needs);
  const log = createLogger({ fn: functionName, stage: config.stage }, config.logLevel);
  let opening: Promise<Database> | undefined;
  return {
    config,
    log,
    database() {
      opening ??= openDatabase(config.database).catch((error: unknown) => {
        opening = undefined;
        throw error;
      });
      return opening;
    },
  };
}
