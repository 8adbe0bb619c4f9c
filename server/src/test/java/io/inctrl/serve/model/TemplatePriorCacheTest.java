package io.inctrl.serve.model;

import static org.assertj.core.api.Assertions.assertThat;

import io.inctrl.serve.text.PromptTemplates;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The text priors of inline categories and template previews are bounded by bytes. */
class TemplatePriorCacheTest {

    private final AtomicInteger computed = new AtomicInteger();

    private TextPrior compute() {
        computed.incrementAndGet();
        return new TextPrior(new float[640], new float[640]);
    }

    @Test
    void clientChosenCategories_cannotGrowTheCacheBeyondItsBytes() {
        PromptTemplates t = PromptTemplates.defaults();
        long oneEntry = 20_000; // two 640-float vectors plus the default templates' text: about 8 KB
        TemplatePriorCache cache = new TemplatePriorCache(3 * oneEntry, Runnable::run);
        for (int i = 0; i < 1000; i++) {
            cache.get(t, "category-" + i, this::compute);
        }
        assertThat(cache.size()).isBetween(1L, 7L);
        assertThat(computed).hasValue(1000);
        // what stays is served without computing again
        int before = computed.get();
        int hits = 0;
        for (int i = 0; i < 1000; i++) {
            if (cache.getIfPresent(t, "category-" + i) != null) {
                hits++;
            }
        }
        assertThat(hits).isEqualTo(cache.size());
        assertThat(computed).hasValue(before);
    }

    @Test
    void aHugeTemplateSetWeighsMoreThanTheDefaults() {
        PromptTemplates big = new PromptTemplates(
                java.util.List.of("{} " + "x".repeat(10_000)), java.util.List.of("bad {}"), java.util.List.of("a {}"));
        TextPrior p = new TextPrior(new float[640], new float[640]);
        assertThat(TemplatePriorCache.weight(new TemplatePriorCache.Key(big, "c"), p))
                .isGreaterThan(20_000);
    }
}
