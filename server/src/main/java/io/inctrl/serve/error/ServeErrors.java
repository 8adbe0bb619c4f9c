package io.inctrl.serve.error;

import io.inctrl.serve.logging.InternalErrors;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * The one classifier of failures, shared by every transport (gRPC, REST, Open Inference Protocol REST, the drain
 * gate): what a client may see of a throwable. A {@link ServeException} passes as it is, a cancellation is
 * {@link Reason#CANCELLED} (an outcome, not logged), and anything else, or an INTERNAL ServeException whose message may
 * carry exception text, becomes {@link Reason#INTERNAL} with an error id whose details are only in the server log.
 */
public final class ServeErrors {

    private ServeErrors() {}

    /** @param context what failed, for the log only; client-supplied parts must already be LogSafe */
    public static ServeException classify(Throwable t, String context) {
        Throwable c = unwrap(t);
        if (c instanceof ServeException se && se.code() != ServeException.Code.INTERNAL) {
            return se;
        }
        if (c instanceof CancellationException) {
            return new ServeException(Reason.CANCELLED, "request was cancelled by the client");
        }
        String errorId = InternalErrors.log(context + " failed", c);
        return new ServeException(Reason.INTERNAL, InternalErrors.clientMessage(errorId));
    }

    /** The failure inside the wrappers of futures and executors. */
    public static Throwable unwrap(Throwable t) {
        Throwable c = t;
        while ((c instanceof CompletionException || c instanceof ExecutionException) && c.getCause() != null) {
            c = c.getCause();
        }
        return c;
    }
}
