/**
 * A subtask failure with VOD's codes. Errors (ErrCode/ErrCodeExt) follow VOD's media-processing error
 * list: 40000 `InvalidInput`, `InvalidInput.DefinitionNotExist`, `InvalidInput.InvalidTimeOffset`;
 * 60000 `SourceFileError`, `SourceFileError.NoVideoMedia`; 70000 `InternalError`.
 */
export class SubtaskError extends Error {
  constructor(
    readonly errCodeExt: string,
    readonly errCode: number,
    message: string,
  ) {
    super(message);
  }
}

export const invalidInput = (message: string, ext = 'InvalidInput') => new SubtaskError(ext, 40000, message);
export const sourceError = (message: string, ext = 'SourceFileError') => new SubtaskError(ext, 60000, message);
