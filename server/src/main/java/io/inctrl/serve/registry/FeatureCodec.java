package io.inctrl.serve.registry;

import io.inctrl.serve.model.PromptFeatures;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/** Encodes {@link PromptFeatures} as little-endian fp32 or fp16 blobs, one per tapped layer plus the prototype. */
public final class FeatureCodec {

    public static final String TOKENS = "tokens";
    public static final String PROTOTYPE = "prototype";

    /** One stored blob: {@code rows × cols} values. */
    public record Part(String kind, int layer, int rows, int cols, Precision dtype, byte[] data) {}

    private FeatureCodec() {}

    public static List<Part> encode(PromptFeatures f, Precision precision) {
        List<Part> parts = new ArrayList<>(f.tokens().length + 1);
        for (int l = 0; l < f.tokens().length; l++) {
            parts.add(new Part(TOKENS, l, f.rows(l), f.width(), precision, toBytes(f.tokens()[l], precision)));
        }
        parts.add(new Part(PROTOTYPE, 0, 1, f.prototype().length, precision, toBytes(f.prototype(), precision)));
        return parts;
    }

    /**
     * The stored pool as one block of prompt tokens, for sets whose shots are several views each (tiles): the
     * per-view count is not stored, and scoring only uses the pooled rows and the stored prototype.
     */
    public static PromptFeatures decodePool(List<Part> parts) {
        return decode(parts, 1);
    }

    /**
     * The stored bank of a set of {@code shots} images. Each tap keeps its own stored row count, so exact banks
     * (shots x patches rows) and reduced ones ({@link io.inctrl.serve.model.Coreset}) read back alike.
     */
    public static PromptFeatures decode(List<Part> parts, int shots) {
        List<float[]> layers = new ArrayList<>();
        float[] prototype = null;
        int cols = 0;
        for (Part p : parts.stream()
                .sorted((a, b) -> Integer.compare(a.layer(), b.layer()))
                .toList()) {
            float[] values = fromBytes(p.data(), p.dtype());
            if (values.length != p.rows() * p.cols()) {
                throw new IllegalStateException("stored " + p.kind() + " blob has " + values.length
                        + " values, expected " + p.rows() * p.cols());
            }
            if (p.kind().equals(PROTOTYPE)) {
                prototype = values;
            } else {
                if (cols != 0 && p.cols() != cols) {
                    throw new IllegalStateException("stored taps differ in width: " + cols + " and " + p.cols());
                }
                layers.add(values);
                cols = p.cols();
            }
        }
        if (prototype == null || layers.isEmpty()) {
            throw new IllegalStateException("stored features are incomplete");
        }
        return new PromptFeatures(Math.max(1, shots), cols, layers.toArray(float[][]::new), prototype);
    }

    /** What storing {@code f} at {@code precision} and reading it back yields (to validate fp16 before storing). */
    public static PromptFeatures roundTrip(PromptFeatures f, Precision precision) {
        return decode(encode(f, precision), f.shots());
    }

    static byte[] toBytes(float[] v, Precision precision) {
        ByteBuffer b = ByteBuffer.allocate(v.length * precision.bytesPerValue).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) {
            if (precision == Precision.FP32) {
                b.putFloat(x);
            } else {
                b.putShort(floatToHalf(x));
            }
        }
        return b.array();
    }

    static float[] fromBytes(byte[] data, Precision precision) {
        ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        float[] v = new float[data.length / precision.bytesPerValue];
        for (int i = 0; i < v.length; i++) {
            v[i] = precision == Precision.FP32 ? b.getFloat() : halfToFloat(b.getShort());
        }
        return v;
    }

    /** IEEE 754 binary16, round to nearest even (Java 17 has no Float.floatToFloat16). */
    static short floatToHalf(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int exp = (bits >>> 23) & 0xff;
        int mant = bits & 0x7fffff;
        if (exp == 0xff) {
            return (short) (sign | 0x7c00 | (mant != 0 ? 0x200 : 0));
        }
        int e = exp - 127 + 15;
        if (e >= 0x1f) {
            return (short) (sign | 0x7c00);
        }
        if (e <= 0) {
            if (e < -10) {
                return (short) sign;
            }
            mant |= 0x800000;
            int shift = 14 - e;
            int half = mant >> shift;
            int rem = mant & ((1 << shift) - 1);
            int mid = 1 << (shift - 1);
            if (rem > mid || (rem == mid && (half & 1) != 0)) {
                half++;
            }
            return (short) (sign | half);
        }
        int half = (e << 10) | (mant >> 13);
        int rem = mant & 0x1fff;
        if (rem > 0x1000 || (rem == 0x1000 && (half & 1) != 0)) {
            half++; // may carry into the exponent, which is the correct rounding
        }
        return (short) (sign | half);
    }

    static float halfToFloat(short h) {
        int sign = (h & 0x8000) << 16;
        int exp = (h >>> 10) & 0x1f;
        int mant = h & 0x3ff;
        if (exp == 0) {
            if (mant == 0) {
                return Float.intBitsToFloat(sign);
            }
            return (sign != 0 ? -1f : 1f) * mant * 0x1p-24f;
        }
        if (exp == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        return Float.intBitsToFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
    }
}
