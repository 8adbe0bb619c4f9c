package io.inctrl.serve.api.oip;

import java.util.List;
import java.util.Map;

/**
 * A ModelInfer request, transport-neutral.
 *
 * @param parameters request parameters as Java values (String, Boolean, Long, Double)
 * @param outputs requested output names; empty for all
 */
public record OipInferRequest(
        String modelName,
        String modelVersion,
        String id,
        Map<String, Object> parameters,
        List<OipTensor> inputs,
        List<String> outputs) {}
