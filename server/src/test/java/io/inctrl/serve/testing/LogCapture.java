package io.inctrl.serve.testing;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Collects the formatted messages one class logs (JBoss LogManager's records, as Quarkus writes them) while
 * attached: tests assert what an operator would read in the log.
 */
public final class LogCapture extends Handler {

    private final Logger logger;
    private final List<String> lines = new CopyOnWriteArrayList<>();

    private LogCapture(Class<?> source) {
        this.logger = Logger.getLogger(source.getName());
    }

    /** Starts collecting what {@code source}'s logger writes; {@link #close()} stops. */
    public static LogCapture of(Class<?> source) {
        LogCapture c = new LogCapture(source);
        c.logger.addHandler(c);
        return c;
    }

    /** The messages so far, formatted (parameters filled in). */
    public List<String> lines() {
        return lines;
    }

    @Override
    public void publish(LogRecord r) {
        lines.add(r instanceof org.jboss.logmanager.ExtLogRecord ext ? ext.getFormattedMessage() : r.getMessage());
    }

    @Override
    public void flush() {}

    @Override
    public void close() {
        logger.removeHandler(this);
    }
}
