package io.inctrl.serve.model;

/** bf16 parity tier of the tiny residual-heads bundle (random InceptionV3 trunk; frozen channels-last CPU copy). */
class ResidualHeadsBf16ParityTest extends AbstractPrecisionParityTest {
    @Override
    String bundleName() {
        return "residual-heads-tiny";
    }

    @Override
    ComputePrecision precision() {
        return ComputePrecision.BF16;
    }
}
