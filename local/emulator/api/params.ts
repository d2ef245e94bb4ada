/** API 3.0 parameter checks: VOD answers MissingParameter / InvalidParameterValue. */
import { ApiError } from './error.ts';

export function requireString(params: Record<string, unknown>, name: string): string {
  const v = params[name];
  if (v === undefined || v === null || v === '') throw new ApiError('MissingParameter', `The parameter ${name} is required.`);
  if (typeof v !== 'string') throw new ApiError('InvalidParameterValue', `${name} must be a string.`);
  return v;
}

export function optionalString(
  params: Record<string, unknown>,
  name: string,
  maxLength = Infinity,
  code = 'InvalidParameterValue',
): string | undefined {
  const v = params[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new ApiError('InvalidParameterValue', `${name} must be a string.`);
  if ([...v].length > maxLength) throw new ApiError(code, `${name} is longer than ${maxLength} characters.`);
  return v;
}

export function optionalInteger(params: Record<string, unknown>, name: string): number | undefined {
  const v = params[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ApiError('InvalidParameterValue', `${name} must be an integer.`);
  return v;
}

export function optionalSwitch(params: Record<string, unknown>, name: string): 'ON' | 'OFF' | undefined {
  const v = params[name];
  if (v === undefined || v === null) return undefined;
  if (v !== 'ON' && v !== 'OFF') throw new ApiError('InvalidParameterValue', `${name} must be ON or OFF.`);
  return v;
}

/** A number parameter given as a value (nested fields name themselves: `MediaProcessTask.….Definition`). */
export function optionalNumber(value: unknown, name: string, integer = true): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw new ApiError('InvalidParameterValue', `${name} must be ${integer ? 'an integer' : 'a number'}.`);
  }
  return value;
}
