package io.inctrl.serve.scoring;

/** A request that cannot be scored, with the status the API layer reports. */
public class ScoringException extends RuntimeException {

    public enum Kind {
        INVALID_ARGUMENT, NOT_FOUND, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED, UNAVAILABLE, FAILED_PRECONDITION,
        CANCELLED, INTERNAL
    }

    private final Kind kind;

    public ScoringException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public ScoringException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }

    public static ScoringException invalid(String message) {
        return new ScoringException(Kind.INVALID_ARGUMENT, message);
    }
}
