package io.inctrl.serve.registry;

/** Storage precision of encoded features. FP32 matches the checkpoint; FP16 halves the bytes. */
public enum Precision {
    FP32(4),
    FP16(2);

    public final int bytesPerValue;

    Precision(int bytesPerValue) {
        this.bytesPerValue = bytesPerValue;
    }
}
