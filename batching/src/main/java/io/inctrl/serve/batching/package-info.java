/**
 * Dynamic batcher: per-tenant fair queues cut into batches and run by one worker thread per device;
 * knows nothing of gRPC, HTTP, DJL or persistence so it is tested with a fake processor.
 */
package io.inctrl.serve.batching;
