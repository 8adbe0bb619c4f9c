package io.inctrl.serve.logging;

import java.security.SecureRandom;
import java.util.HexFormat;
import org.jboss.logging.Logger;

/**
 * Unexpected failures: the exception (SQL text, host names, class names) goes to the server log under a short random
 * error id, and the client gets {@link #clientMessage(String)} with that id only, so support can find the log line.
 */
public final class InternalErrors {

    private static final Logger LOG = Logger.getLogger(InternalErrors.class);
    private static final SecureRandom RANDOM = new SecureRandom();

    private InternalErrors() {}

    /**
     * Logs {@code cause} at ERROR with a new error id and returns the id.
     *
     * @param context what failed, for the log only; client-supplied parts must already be {@link LogSafe}
     */
    public static String log(String context, Throwable cause) {
        byte[] b = new byte[6];
        RANDOM.nextBytes(b);
        String id = HexFormat.of().formatHex(b);
        LOG.errorf(cause, "error id %s: %s", id, context);
        return id;
    }

    /** The only text a client sees about an unexpected failure. */
    public static String clientMessage(String errorId) {
        return "internal error (error id " + errorId + "); the details are in the server log";
    }
}
