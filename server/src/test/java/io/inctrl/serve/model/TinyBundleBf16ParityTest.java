package io.inctrl.serve.model;

/** bf16 parity tier of the tiny random-init InCTRL bundle (vision and text tower in bf16). */
class TinyBundleBf16ParityTest extends AbstractPrecisionParityTest {
    @Override
    String bundleName() {
        return "tiny";
    }

    @Override
    ComputePrecision precision() {
        return ComputePrecision.BF16;
    }
}
