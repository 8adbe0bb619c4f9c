/**
 * The model core: bundles, the DJL/libtorch engine and the InCTRL math. "spec §N" in this code refers to the
 * method spec in {@code docs/inctrl-spec.md} (shapes, constants and the batch-size-1 bug of the official code).
 */
package io.inctrl.serve.model;
