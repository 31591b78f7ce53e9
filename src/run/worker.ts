// A worker thread of `svcspec run --jobs N`: runs one file per request with the same runFile
// as a serial run, so verdicts cannot differ between the two.
import { parentPort, workerData } from "node:worker_threads";
import type { FileResult } from "./result.js";
import { internalErrorResult, runFile, type ExecutorModule } from "./run-file.js";
import type { WorkerReply, WorkerRequest, WorkerSetup } from "./worker-protocol.js";

const setup = (workerData ?? {}) as WorkerSetup;

async function loadExecutor(): Promise<ExecutorModule> {
  const mod = setup.executorModule ? await import(setup.executorModule) : await import("./executor.js");
  return { executeFile: mod.executeFile, listScenarios: mod.listScenarios };
}

const port = parentPort;
if (!port) throw new Error("svcspec worker: must run in a worker thread");
const executor = loadExecutor();
// A load failure is reported per file (as an internal error), not as an unhandled rejection.
executor.catch(() => undefined);

// Requests are handled one at a time: the runner posts the next file only after a reply.
port.on("message", (req: WorkerRequest) => {
  void (async () => {
    let result: FileResult | null;
    try {
      result = await runFile(await executor, req.file, req.options);
    } catch (err) {
      // Only reachable when the executor module itself cannot be loaded.
      result = internalErrorResult(req.file, err);
    }
    const reply: WorkerReply = { index: req.index, result };
    port.postMessage(reply);
  })();
});
