package io.inctrl.serve.registry;

import io.inctrl.serve.model.PromptFeatures;
import io.inctrl.serve.model.TextPrior;
import java.util.Optional;

/**
 * Everything the Score path needs for a prompt set id, with nothing left to encode: the version that serves it, that
 * version's encoding of the set, its features, text prior and threshold.
 */
public record ResolvedPromptSet(
        PromptSet promptSet,
        Encoding encoding,
        ModelVersionPort servedBy,
        PromptFeatures features,
        TextPrior prior,
        Optional<Float> threshold) {}
