package io.inctrl.serve.model;

import org.junit.jupiter.api.Tag;

/** Parity against the full-size ViT-B-16-plus-240 random-init bundle (slow tier, still run by CI). */
@Tag("full-size")
class FullSizeBundleParityTest extends AbstractEngineParityTest {
    @Override
    String variant() {
        return "full";
    }
}
