package io.inctrl.serve.api.oip;

/** One output tensor: FP32 values in {@code fp32} or BOOL values in {@code bools}, row-major in {@code shape}. */
public record OipOutput(String name, String datatype, long[] shape, float[] fp32, boolean[] bools) {

    static OipOutput fp32(String name, long[] shape, float[] values) {
        return new OipOutput(name, OipTensor.FP32, shape, values, null);
    }

    static OipOutput bool(String name, long[] shape, boolean[] values) {
        return new OipOutput(name, OipTensor.BOOL, shape, null, values);
    }
}
