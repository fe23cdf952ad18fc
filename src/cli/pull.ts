import { isParleyError } from "../core/errors.js";
import {
  DEFAULT_EMBEDDED_MODEL,
  DEFAULT_EMBEDDED_MODEL_BYTES,
  DEFAULT_EMBEDDED_MODEL_NAME,
  formatBytes,
  modelsDir,
  progressDisplay,
  resolveModel,
  shownUrl,
} from "../llm/model-files.js";

export interface PullOptions {
  /** Stops the download (Ctrl-C); what arrived is kept for the next pull. */
  signal?: AbortSignal;
  /** Redraw the progress line in place. @defaultValue `progress.isTTY` */
  tty?: boolean;
}

/**
 * `parley pull [model]`: downloads a model for the embedded provider ahead
 * of time (the argument, else `EMBEDDED_MODEL`, else the default model)
 * into the models folder. Progress goes to `progress` (stderr), the file's
 * path to `out`, so `$(npx parley pull)` is the path. 0 when the file is
 * there and verified; 1 with a one-line reason when not; 2 for wrong arguments.
 */
export async function pullModel(
  args: string[],
  env: Record<string, string | undefined>,
  out: NodeJS.WritableStream,
  progress: NodeJS.WritableStream & { isTTY?: boolean },
  options: PullOptions = {},
): Promise<number> {
  if (args.length > 1) {
    progress.write("parley pull: one model at a time: parley pull [file.gguf | https://…/model.gguf | hf:user/repo:quant]\n");
    return 2;
  }
  const ref = args[0] || env.EMBEDDED_MODEL || DEFAULT_EMBEDDED_MODEL;
  const dir = modelsDir(env);
  const about = ref === DEFAULT_EMBEDDED_MODEL ? ` (${DEFAULT_EMBEDDED_MODEL_NAME}, about ${formatBytes(DEFAULT_EMBEDDED_MODEL_BYTES)})` : "";
  const display = progressDisplay(progress, { tty: options.tty });
  let started = false;
  try {
    const model = await resolveModel(ref, {
      dir,
      signal: options.signal,
      hfEndpoint: env.HF_ENDPOINT,
      onProgress: (p) => {
        if (!started) {
          started = true;
          const resumed = p.resumedFromBytes > 0 ? `, continuing from ${formatBytes(p.resumedFromBytes)}` : "";
          progress.write(`Downloading ${shownUrl(ref)}${about} into ${dir}${resumed}\n`);
        }
        display.update(p);
        // Ends the line before the file is verified, which would count as download time.
        if (p.totalBytes !== undefined && p.downloadedBytes >= p.totalBytes) display.finish();
      },
    });
    display.finish();
    if (model.source === "kept") progress.write(`Already downloaded: ${shownUrl(ref)}\n`);
    if (model.source === "file") progress.write(`A GGUF model file: ${formatBytes(model.bytes)}\n`);
    if (model.source === "downloaded") progress.write(`Downloaded and verified: ${formatBytes(model.bytes)}\n`);
    out.write(`${model.path}\n`);
    return 0;
  } catch (e) {
    display.finish();
    if (!isParleyError(e)) throw e;
    progress.write(`parley pull: ${e.message}\n`);
    return e.code === "stopped" ? 130 : 1;
  }
}
