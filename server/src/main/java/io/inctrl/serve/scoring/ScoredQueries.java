package io.inctrl.serve.scoring;

/** Keeps queries scored against registered sets for a while (implemented by the registry), so they can be confirmed. */
public interface ScoredQueries {

    /**
     * Keeps {@code image}, scored {@code score} against set {@code promptSetId} of {@code tenant}; returns the query id
     * a later confirmation names, or null when retention is off. Must not block.
     */
    String retain(String tenant, String promptSetId, byte[] image, float score);
}
