package io.inctrl.serve.model;

/** Parity against the tiny random-init bundle (fast tier). */
class TinyBundleParityTest extends AbstractEngineParityTest {
    @Override
    String variant() {
        return "tiny";
    }
}
