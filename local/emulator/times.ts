/** The emulator's clock values as VOD writes them. */

/** Whole seconds of an epoch-ms clock value. */
export const unixSeconds = (ms: number) => Math.floor(ms / 1000);

/** ISO 8601 in whole seconds (`2026-11-25T06:03:17Z`), as VOD writes times. */
export const isoTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
