package io.inctrl.serve.image;

import java.util.Arrays;

/**
 * Preprocessing parameters (bundle manifest {@code image} block): square output {@code size}, per-channel
 * {@code mean}/{@code std} applied after /255. Values are float32, as torchvision's Normalize uses them.
 */
public record PreprocessConfig(int size, float[] mean, float[] std) {

    /** OpenAI CLIP statistics, spec §3. */
    public static final float[] CLIP_MEAN = {0.48145466f, 0.4578275f, 0.40821073f};

    public static final float[] CLIP_STD = {0.26862954f, 0.26130258f, 0.27577711f};

    public PreprocessConfig {
        if (size <= 0) {
            throw new IllegalArgumentException("size must be positive: " + size);
        }
        if (mean == null || std == null || mean.length != 3 || std.length != 3) {
            throw new IllegalArgumentException("mean and std need 3 values");
        }
        for (float s : std) {
            if (!(s > 0f)) {
                throw new IllegalArgumentException("std must be > 0: " + Arrays.toString(std));
            }
        }
        mean = mean.clone();
        std = std.clone();
    }

    /** ViT-B-16-plus-240: 240 px, CLIP mean/std. */
    public static PreprocessConfig inctrl() {
        return new PreprocessConfig(240, CLIP_MEAN, CLIP_STD);
    }

    @Override
    public float[] mean() {
        return mean.clone();
    }

    @Override
    public float[] std() {
        return std.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PreprocessConfig c
                && c.size == size
                && Arrays.equals(c.mean, mean)
                && Arrays.equals(c.std, std);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * size + Arrays.hashCode(mean)) + Arrays.hashCode(std);
    }

    @Override
    public String toString() {
        return "PreprocessConfig[size=" + size + ", mean=" + Arrays.toString(mean) + ", std=" + Arrays.toString(std)
                + "]";
    }
}
