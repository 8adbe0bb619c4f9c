package io.inctrl.serve.registry;

import static org.assertj.core.api.Assertions.assertThat;

import io.inctrl.serve.model.PromptFeatures;
import java.util.Random;
import org.junit.jupiter.api.Test;

class FeatureCodecTest {

    @Test
    void fp32_roundTripIsExact() {
        PromptFeatures f = random(3);
        PromptFeatures back = FeatureCodec.roundTrip(f, Precision.FP32);
        for (int l = 0; l < 3; l++) {
            assertThat(back.tokens()[l]).containsExactly(f.tokens()[l]);
        }
        assertThat(back.prototype()).containsExactly(f.prototype());
        assertThat(back.shots()).isEqualTo(2);
        assertThat(back.rows(0)).isEqualTo(10);
    }

    @Test
    void pooledDecode_keepsEveryTokenRowWithoutAPerShotSplit() {
        PromptFeatures f = random(3); // 2 shots x 5 patches
        PromptFeatures back = FeatureCodec.decodePool(FeatureCodec.encode(f, Precision.FP32));
        assertThat(back.rows(0)).isEqualTo(10);
        for (int l = 0; l < 3; l++) {
            assertThat(back.tokens()[l]).containsExactly(f.tokens()[l]);
        }
        assertThat(back.prototype()).containsExactly(f.prototype());
    }

    @Test
    void fp16_roundTripWithinHalfPrecision() {
        PromptFeatures f = random(3);
        PromptFeatures back = FeatureCodec.roundTrip(f, Precision.FP16);
        for (int i = 0; i < f.tokens()[0].length; i++) {
            float x = f.tokens()[0][i];
            assertThat(back.tokens()[0][i])
                    .isCloseTo(x, org.assertj.core.data.Offset.offset(Math.abs(x) / 1024 + 1e-7f));
        }
    }

    @Test
    void half_specialValues() {
        for (float x : new float[] {0f, -0f, 1f, -2f, 65504f, 6.1035156e-5f, 5.9604645e-8f, 0.333333f}) {
            float y = FeatureCodec.halfToFloat(FeatureCodec.floatToHalf(x));
            assertThat(y).isCloseTo(x, org.assertj.core.data.Offset.offset(Math.abs(x) / 1024 + 1e-8f));
        }
        assertThat(FeatureCodec.halfToFloat(FeatureCodec.floatToHalf(1e6f))).isInfinite();
        assertThat(FeatureCodec.halfToFloat(FeatureCodec.floatToHalf(Float.NaN)))
                .isNaN();
    }

    private static PromptFeatures random(int layers) {
        Random r = new Random(1);
        float[][] t = new float[layers][2 * 5 * 4];
        for (float[] layer : t) {
            for (int i = 0; i < layer.length; i++) {
                layer[i] = (float) r.nextGaussian();
            }
        }
        float[] p = new float[6];
        for (int i = 0; i < p.length; i++) {
            p[i] = r.nextFloat();
        }
        return new PromptFeatures(2, 5, 4, t, p);
    }
}
