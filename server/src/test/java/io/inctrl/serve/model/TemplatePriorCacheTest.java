package io.inctrl.serve.model;

import static org.assertj.core.api.Assertions.assertThat;

import io.inctrl.serve.text.PromptTemplates;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The text priors of inline categories and template previews are bounded by bytes. */
class TemplatePriorCacheTest {

    private final AtomicInteger computed = new AtomicInteger();

    private java.util.concurrent.CompletableFuture<TextPrior> compute() {
        computed.incrementAndGet();
        return java.util.concurrent.CompletableFuture.completedFuture(new TextPrior(new float[640], new float[640]));
    }

    @Test
    void clientChosenCategories_cannotGrowTheCacheBeyondItsBytes() {
        PromptTemplates t = PromptTemplates.defaults();
        long oneEntry = 20_000; // two 640-float vectors plus the default templates' text: about 8 KB
        TemplatePriorCache cache = new TemplatePriorCache(3 * oneEntry, Runnable::run);
        for (int i = 0; i < 1000; i++) {
            cache.get(t, "category-" + i, this::compute).join();
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
    void concurrentFirstUsesShareOneComputation_andAFailureIsNotKept() {
        PromptTemplates t = PromptTemplates.defaults();
        TemplatePriorCache cache = new TemplatePriorCache(1 << 20, Runnable::run);
        var pending = new java.util.concurrent.CompletableFuture<TextPrior>();
        var first = cache.get(t, "c", () -> {
            computed.incrementAndGet();
            return pending;
        });
        var second = cache.get(t, "c", this::compute);
        assertThat(computed).hasValue(1);
        pending.completeExceptionally(new IllegalStateException("device failed"));
        assertThat(first).isCompletedExceptionally();
        assertThat(second).isCompletedExceptionally();
        assertThat(cache.get(t, "c", this::compute).join().normal()).hasSize(640);
        assertThat(computed).hasValue(2);
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
