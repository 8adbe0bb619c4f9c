/**
 * Safe diagnostics: {@link io.inctrl.serve.logging.LogSafe} bounds and escapes client-supplied text before it
 * reaches a log line, a metric label or an error message; {@link io.inctrl.serve.logging.InternalErrors} logs an
 * unexpected failure under an error id so that clients see the id, never the exception.
 */
package io.inctrl.serve.logging;
