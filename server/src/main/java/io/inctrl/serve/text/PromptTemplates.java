package io.inctrl.serve.text;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * A text-prompt template set (spec §6): state phrases with a {@code {}} slot for the category, and sentence
 * templates with a {@code {}} slot for the state phrase. Sentences are state × template, normal first.
 */
public record PromptTemplates(List<String> normalStates, List<String> anomalousStates, List<String> templates) {

    /** Category names for which the official code uses one fixed sentence per side (CIFAR-10 classes + "animal"). */
    static final Set<String> CIFAR_CLASSES =
            Set.of("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck", "animal");

    public PromptTemplates {
        normalStates = List.copyOf(normalStates);
        anomalousStates = List.copyOf(anomalousStates);
        templates = List.copyOf(templates);
        requireSlot("normal state", normalStates);
        requireSlot("anomalous state", anomalousStates);
        requireSlot("template", templates);
    }

    /** The official 7 normal states, 4 anomalous states and 22 templates (154 + 88 sentences). */
    public static PromptTemplates defaults() {
        return new PromptTemplates(
                List.of(
                        "{}",
                        "flawless {}",
                        "perfect {}",
                        "unblemished {}",
                        "{} without flaw",
                        "{} without defect",
                        "{} without damage"),
                List.of("damaged {}", "{} with flaw", "{} with defect", "{} with damage"),
                List.of(
                        "a cropped photo of the {}.",
                        "a cropped photo of a {}.",
                        "a close-up photo of a {}.",
                        "a close-up photo of the {}.",
                        "a bright photo of a {}.",
                        "a bright photo of the {}.",
                        "a dark photo of a {}.",
                        "a dark photo of the {}.",
                        "a jpeg corrupted photo of a {}.",
                        "a jpeg corrupted photo of the {}.",
                        "a blurry photo of the {}.",
                        "a blurry photo of a {}.",
                        "a photo of the {}.",
                        "a photo of a {}.",
                        "a photo of a small {}.",
                        "a photo of the small {}.",
                        "a photo of a large {}.",
                        "a photo of the large {}.",
                        "a photo of a {} for visual inspection.",
                        "a photo of the {} for visual inspection.",
                        "a photo of a {} for anomaly detection.",
                        "a photo of the {} for anomaly detection."));
    }

    /** Underscores read as spaces, as in the official code; the tokenizer lowercases later. */
    public static String displayName(String category) {
        return category.replace('_', ' ');
    }

    public List<String> normalSentences(String category) {
        return sentences(category, normalStates, true);
    }

    public List<String> anomalousSentences(String category) {
        return sentences(category, anomalousStates, false);
    }

    private List<String> sentences(String category, List<String> states, boolean normal) {
        String c = displayName(category);
        // The official code special-cases exact CIFAR class names before any lowercasing.
        if (CIFAR_CLASSES.contains(c)) {
            return List.of(
                    normal
                            ? "a photo of " + c + " for anomaly detection."
                            : "a photo without " + c + " for anomaly detection.");
        }
        List<String> out = new ArrayList<>(states.size() * templates.size());
        for (String state : states) {
            String phrase = state.replace("{}", c);
            for (String template : templates) {
                out.add(template.replace("{}", phrase));
            }
        }
        return out;
    }

    private static void requireSlot(String what, List<String> items) {
        if (items.isEmpty()) {
            throw new IllegalArgumentException("at least one " + what + " is required");
        }
        for (String s : items) {
            if (s == null || !s.contains("{}")) {
                throw new IllegalArgumentException(what + " '" + s + "' must contain the placeholder {}");
            }
        }
    }

    @Override
    public String toString() {
        return String.format(
                Locale.ROOT,
                "PromptTemplates[%d normal, %d anomalous, %d templates]",
                normalStates.size(),
                anomalousStates.size(),
                templates.size());
    }
}
