/** VOD v3 event bodies (PUSH form) as VOD would send them for this backend's uploads. */
import { encodeUploadContext } from '#lib/upload-context';

export function newFileUploadBody(options: {
  fileId: string;
  uploadId: string;
  procedureTaskId?: string;
  duration?: number;
  height?: number;
}) {
  return {
    EventType: 'NewFileUpload',
    FileUploadEvent: {
      FileId: options.fileId,
      MediaBasicInfo: {
        Name: 'holiday',
        CreateTime: '2026-11-25T04:10:00Z',
        UpdateTime: '2026-11-25T04:10:00Z',
        ExpireTime: '9999-12-31T23:59:59Z',
        ClassId: 0,
        ClassName: 'Other',
        ClassPath: 'Other',
        Type: 'mp4',
        MediaUrl: `https://1500000001.vod2.myqcloud.com/bucket/${options.fileId}/holiday.mp4`,
        TagSet: [],
        StorageRegion: 'ap-guangzhou',
        SourceInfo: { SourceType: 'Upload', SourceContext: encodeUploadContext({ uploadId: options.uploadId, userId: 'alice' }) },
        Vid: options.fileId,
      },
      ProcedureTaskId: options.procedureTaskId ?? '',
      MetaData: {
        Size: 1048576,
        Container: 'mov,mp4,m4a,3gp,3g2,mj2',
        Bitrate: 800000,
        Height: options.height ?? 720,
        Width: 1280,
        Duration: options.duration ?? 12.5,
        Rotate: 0,
        VideoStreamSet: [{ Bitrate: 700000, Height: options.height ?? 720, Width: 1280, Codec: 'h264', Fps: 25 }],
        AudioStreamSet: [{ Bitrate: 100000, SamplingRate: 44100, Codec: 'aac' }],
        VideoDuration: options.duration ?? 12.5,
        AudioDuration: options.duration ?? 12.5,
      },
    },
  };
}

type SubtaskStatus = 'PROCESSING' | 'SUCCESS' | 'FAIL';

export function procedureBody(options: {
  taskId: string;
  fileId: string;
  uploadId?: string;
  status: 'PROCESSING' | 'FINISH' | 'ABORTED';
  transcode?: SubtaskStatus;
  progress?: number;
}) {
  const transcode = options.transcode ?? (options.status === 'FINISH' ? 'SUCCESS' : 'PROCESSING');
  const base = `https://1500000001.vod2.myqcloud.com/trans/${options.fileId}`;
  return {
    EventType: 'ProcedureStateChanged',
    ProcedureStateChangeEvent: {
      TaskId: options.taskId,
      Status: options.status,
      ErrCode: 0,
      Message: '',
      FileId: options.fileId,
      FileName: 'holiday',
      SessionContext: options.uploadId ? encodeUploadContext({ uploadId: options.uploadId }) : '',
      SessionId: `${options.fileId}-v1`,
      TasksPriority: 0,
      TasksNotifyMode: 'Finish',
      MediaProcessResultSet: [
        {
          Type: 'Transcode',
          TranscodeTask: {
            Status: transcode,
            ErrCode: transcode === 'FAIL' ? 30010 : 0,
            ErrCodeExt: transcode === 'FAIL' ? 'SourceFileError' : '',
            Message: transcode === 'FAIL' ? 'source file error' : 'SUCCESS',
            Progress: options.progress ?? (transcode === 'PROCESSING' ? 40 : 100),
            Input: { Definition: 100030 },
            ...(transcode === 'SUCCESS'
              ? {
                  Output: {
                    Url: `${base}/v.f100030.mp4`,
                    Definition: 100030,
                    Bitrate: 1800000,
                    Height: 720,
                    Width: 1280,
                    Size: 2000000,
                    Duration: 12.5,
                    Container: 'mov,mp4,m4a,3gp,3g2,mj2',
                    VideoStreamSet: [],
                    AudioStreamSet: [],
                  },
                }
              : {}),
          },
        },
        {
          Type: 'CoverBySnapshot',
          CoverBySnapshotTask: {
            Status: options.status === 'FINISH' ? 'SUCCESS' : 'PROCESSING',
            ErrCode: 0,
            ErrCodeExt: '',
            Message: 'SUCCESS',
            Progress: options.status === 'FINISH' ? 100 : 0,
            Input: { Definition: 10, PositionType: 'Percent', PositionValue: 10 },
            ...(options.status === 'FINISH' ? { Output: { CoverUrl: `${base}/cover.jpg` } } : {}),
          },
        },
      ],
    },
  };
}

export function fileDeletedBody(fileIds: string[], parts?: Array<{ Type: string; Definition: number }>) {
  return {
    EventType: 'FileDeleted',
    FileDeleteEvent: {
      FileIdSet: fileIds,
      ...(parts ? { FileDeleteResultInfo: fileIds.map((FileId) => ({ FileId, DeleteParts: parts })) } : {}),
    },
  };
}
