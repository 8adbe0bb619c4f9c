package io.inctrl.serve.api.oip;

import java.util.List;

/** The answer to a ModelInfer request: the model it ran on and the requested outputs, in metadata order. */
public record OipInferResult(String modelName, String modelVersion, String id, List<OipOutput> outputs) {}
