package io.inctrl.serve.registry;

import io.inctrl.serve.model.PromptFeatures;
import io.inctrl.serve.model.TextPrior;
import java.util.Optional;

/** Everything the Score path needs for a prompt set id, with nothing left to encode. */
public record ResolvedPromptSet(
        PromptSet promptSet, PromptFeatures features, TextPrior prior, Optional<Float> threshold) {}
