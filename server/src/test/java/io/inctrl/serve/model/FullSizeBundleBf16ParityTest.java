package io.inctrl.serve.model;

import org.junit.jupiter.api.Tag;

/** bf16 parity tier of the full-size ViT-B-16-plus-240 random-init bundle (slow tier, still run by CI). */
@Tag("full-size")
class FullSizeBundleBf16ParityTest extends AbstractPrecisionParityTest {
    @Override
    String bundleName() {
        return "full";
    }

    @Override
    ComputePrecision precision() {
        return ComputePrecision.BF16;
    }
}
