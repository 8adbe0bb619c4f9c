package io.inctrl.serve.client;

import com.google.protobuf.ByteString;
import io.inctrl.serve.api.v1.InlinePrompts;
import io.inctrl.serve.api.v1.ScoreRequest;
import java.util.List;
import java.util.Objects;

/**
 * What a query image is compared with: inline shots + category, or a registered prompt set; and optionally which model
 * version compares ({@link #withModel}).
 */
public final class Prompts {
    private final List<ByteString> shots;
    private final String category;
    private final String promptSetId;
    private final String model;
    private final long modelVersion;

    private Prompts(List<ByteString> shots, String category, String promptSetId, String model, long modelVersion) {
        this.shots = shots;
        this.category = category;
        this.promptSetId = promptSetId;
        this.model = model;
        this.modelVersion = modelVersion;
    }

    private Prompts(List<ByteString> shots, String category, String promptSetId) {
        this(shots, category, promptSetId, "", 0);
    }

    /**
     * These prompts, scored by the given model version: {@code model} "" = the server's default model (for a prompt
     * set: the set's own), {@code version} 0 = the version its roll-out routes to. The response's
     * {@code getModel()} / {@code getModelVersion()} name the version that answered.
     */
    public Prompts withModel(String model, long version) {
        return new Prompts(shots, category, promptSetId, Objects.requireNonNullElse(model, ""), version);
    }

    /** Ad-hoc prompts: K >= 1 normal images of the product and its category (e.g. "transistor"). */
    public static Prompts inline(String category, List<byte[]> shots) {
        if (shots == null || shots.isEmpty()) {
            throw new IllegalArgumentException("inline prompts need at least one shot");
        }
        // copied once here, so a stream can reuse them for every request without re-copying
        return new Prompts(
                shots.stream().map(ByteString::copyFrom).toList(), Objects.requireNonNullElse(category, ""), null);
    }

    public static Prompts inline(String category, byte[]... shots) {
        return inline(category, List.of(shots));
    }

    public static Prompts promptSet(String id) {
        return new Prompts(null, null, Objects.requireNonNull(id));
    }

    /** Builds a ScoreRequest for {@code image} with these prompts. */
    public ScoreRequest.Builder request(String requestId, byte[] image) {
        ScoreRequest.Builder b = ScoreRequest.newBuilder()
                .setRequestId(requestId == null ? "" : requestId)
                .setImage(ByteString.copyFrom(image))
                .setModel(model)
                .setModelVersion(modelVersion);
        if (promptSetId != null) {
            b.setPromptSetId(promptSetId);
        } else {
            b.setInline(InlinePrompts.newBuilder().addAllShots(shots).setCategory(category));
        }
        return b;
    }
}
