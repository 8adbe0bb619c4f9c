/**
 * Safe roll-outs of model versions: the roll-out state each model's requests are routed by (serving version, canary
 * share, shadow share; shared by the replicas through the store), promote and roll back, the shadow scores and the
 * per-set comparison report of two versions.
 */
package io.inctrl.serve.rollout;
