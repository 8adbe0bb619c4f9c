package io.inctrl.serve.api.grpc;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.inctrl.serve.logging.InternalErrors;
import io.inctrl.serve.logging.LogSafe;
import io.inctrl.serve.scoring.ScoringException;

/**
 * Maps use-case failures onto gRPC statuses with a message the caller can act on. Unexpected failures (and
 * INTERNAL ones, whose message may carry exception text) reach the caller as an error id only.
 */
final class GrpcErrors {

    private GrpcErrors() {
    }

    static StatusRuntimeException toStatus(Throwable t, String requestId) {
        Throwable cause = unwrap(t);
        if (cause instanceof StatusRuntimeException sre) {
            return sre;
        }
        if (cause instanceof ScoringException se && se.kind() != ScoringException.Kind.INTERNAL) {
            return status(se.kind()).withDescription(se.getMessage()).asRuntimeException();
        }
        if (cause instanceof java.util.concurrent.CancellationException) {
            // the caller cancelled or went away: an outcome, not a server error (no log, no error count)
            return Status.CANCELLED.withDescription("request was cancelled by the client").asRuntimeException();
        }
        String errorId = InternalErrors.log("scoring request " + LogSafe.of(requestId) + " failed", cause);
        return Status.INTERNAL.withDescription(InternalErrors.clientMessage(errorId)).asRuntimeException();
    }

    static Status status(ScoringException.Kind kind) {
        return switch (kind) {
            case INVALID_ARGUMENT -> Status.INVALID_ARGUMENT;
            case NOT_FOUND -> Status.NOT_FOUND;
            case RESOURCE_EXHAUSTED -> Status.RESOURCE_EXHAUSTED;
            case DEADLINE_EXCEEDED -> Status.DEADLINE_EXCEEDED;
            case UNAVAILABLE -> Status.UNAVAILABLE;
            case FAILED_PRECONDITION -> Status.FAILED_PRECONDITION;
            case CANCELLED -> Status.CANCELLED;
            case INTERNAL -> Status.INTERNAL;
        };
    }

    private static Throwable unwrap(Throwable t) {
        Throwable c = t;
        while ((c instanceof java.util.concurrent.CompletionException
                || c instanceof java.util.concurrent.ExecutionException) && c.getCause() != null) {
            c = c.getCause();
        }
        return c;
    }
}
