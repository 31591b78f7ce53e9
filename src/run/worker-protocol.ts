// Messages between the runner and its worker threads (structured-clone data only).
import type { FileResult } from "./result.js";
import type { RunFileOptions } from "./run-file.js";

/** workerData of every worker. */
export interface WorkerSetup {
  /** file: URL of a module to use instead of the real executor (tests inject a fake one). */
  executorModule?: string;
}

export interface WorkerRequest {
  index: number;
  file: string;
  options: RunFileOptions;
}

export interface WorkerReply {
  index: number;
  /** Null: nothing of the file belongs to this shard. */
  result: FileResult | null;
}
