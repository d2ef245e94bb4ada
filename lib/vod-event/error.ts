import type * as z from 'zod';
import { InvalidInputError } from '#lib/errors';

export type EventPath = ReadonlyArray<string | number>;

/** `ProcedureStateChangeEvent.MediaProcessResultSet[0].TranscodeTask.Status` */
function formatEventPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

/**
 * A VOD event that cannot be understood: not a JSON object, no EventType, or a payload of the wrong
 * shape. `field` names the offending field, so the 400 says exactly what was wrong.
 */
export class VodEventError extends InvalidInputError {
  override name = 'VodEventError';
  constructor(message: string, path: ReadonlyArray<PropertyKey> = []) {
    const where = formatEventPath(path);
    super(
      'InvalidVodEvent',
      where === '' ? message : `Invalid VOD event: ${where}: ${message}`,
      where === '' ? undefined : where,
    );
  }

  /** The first zod issue, located under `base` (where the parsed value sits in the event). */
  static fromZod(error: z.ZodError, base: EventPath): VodEventError {
    const issue = error.issues[0];
    if (issue === undefined) return new VodEventError('is invalid', base);
    return new VodEventError(issue.message, [...base, ...issue.path]);
  }
}
