package io.inctrl.serve.api.oip;

import java.util.List;

/**
 * One input tensor of a ModelInfer request as both transports decode it: its name, datatype and shape, and, for
 * BYTES, its elements (the only datatype this model takes).
 */
public record OipTensor(String name, String datatype, long[] shape, List<byte[]> elements) {

    public static final String BYTES = "BYTES";
    public static final String FP32 = "FP32";
    public static final String BOOL = "BOOL";
}
