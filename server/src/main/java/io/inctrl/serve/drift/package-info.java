/**
 * Drift watch: whether the recent traffic of a registered prompt set still looks like what the set's calibration
 * expects (share of queries over the threshold vs the expected false-positive rate; scores vs the leave-one-out shot
 * scores). Plain Java statistics ({@link io.inctrl.serve.drift.DriftWindow}) behind a bounded per-replica registry
 * with bounded-cardinality metrics ({@link io.inctrl.serve.drift.DriftWatch}); fed by one call from the scoring path.
 * Depends on neither the registry nor the scoring package (they call in).
 */
package io.inctrl.serve.drift;
