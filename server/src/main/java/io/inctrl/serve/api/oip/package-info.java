/**
 * The Open Inference Protocol (KServe v2 / Triton) beside our own API: gRPC {@code inference.GRPCInferenceService}
 * and REST {@code /v2}, both thin fronts of the scoring use case ({@link io.inctrl.serve.api.oip.OipInference}).
 * Mapping and examples: docs/open-inference.md.
 */
package io.inctrl.serve.api.oip;
