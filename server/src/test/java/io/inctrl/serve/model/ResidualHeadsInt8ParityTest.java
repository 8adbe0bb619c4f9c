package io.inctrl.serve.model;

/** int8 parity tier of the tiny residual-heads bundle (static quantization of the InceptionV3 trunk, calibrated). */
class ResidualHeadsInt8ParityTest extends AbstractPrecisionParityTest {
    @Override
    String bundleName() {
        return "residual-heads-tiny";
    }

    @Override
    ComputePrecision precision() {
        return ComputePrecision.INT8;
    }
}
