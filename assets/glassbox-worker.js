// Glassbox's compute worker (a module worker; src/workers/ in the Rust sources). The page posts it
// the URL of the app's JavaScript glue and the compiled WebAssembly module; the worker starts the
// same module (its `main` returns at once without a window), then answers each job message through
// the module's `glassbox_worker_job` (a promise: jobs on the worker's WebGPU device wait for it),
// transferring the reply's buffers. Every reply carries the job's id; a failure is a reply with
// `error`.
self.onmessage = async (event) => {
  const { id, glue, module } = event.data;
  let app;
  try {
    app = await import(glue);
    await app.default({ module_or_path: module });
  } catch (err) {
    self.postMessage({ id, error: `the worker could not start the module: ${err}` });
    return;
  }
  self.onmessage = async (job) => {
    try {
      const [reply, transfer] = await app.glassbox_worker_job(job.data);
      self.postMessage(reply, transfer);
    } catch (err) {
      self.postMessage({ id: job.data && job.data.id, error: String(err) });
    }
  };
  self.postMessage({ id, ready: true });
};
