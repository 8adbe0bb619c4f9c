package io.inctrl.serve.model;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * The arithmetic a loaded model's towers run in (docs/bundle-format.md, "Precision variants"). FP32 is the bundle's own
 * files and the parity reference; the others are variant files the exporter wrote beside them, which take and return
 * fp32 tensors, so nothing outside the engine changes with the precision.
 */
public enum ComputePrecision {
    FP32("fp32"),
    /** bfloat16 weights and activations (oneDNN bf16 kernels on CPUs with avx512_bf16 or AMX). */
    BF16("bf16"),
    /** Post-training int8 quantization; CPU only. */
    INT8("int8");

    private final String wireName;

    ComputePrecision(String wireName) {
        this.wireName = wireName;
    }

    /** The name in configuration, manifests and APIs: "fp32", "bf16", "int8". */
    public String wireName() {
        return wireName;
    }

    /** The precision named {@code name} (case-insensitive), or an IllegalArgumentException naming the valid ones. */
    public static ComputePrecision of(String name) {
        if (name != null) {
            for (ComputePrecision p : values()) {
                if (p.wireName.equalsIgnoreCase(name.trim())) {
                    return p;
                }
            }
        }
        throw new IllegalArgumentException("unknown precision '" + name + "' (expected one of "
                + Arrays.stream(values()).map(ComputePrecision::wireName).collect(Collectors.joining(", ")) + ")");
    }

    @Override
    public String toString() {
        return wireName;
    }
}
