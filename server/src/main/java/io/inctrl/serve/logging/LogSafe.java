package io.inctrl.serve.logging;

/**
 * Renders client-supplied text (request ids, category names, template strings, ids from URLs) for log lines, metric
 * labels and error messages: control, format and line-separator characters are escaped ({@code \n}, {@code \u2028}
 * ...), so one value can never start a forged log line, and the result is capped with a marker that says how much
 * was cut, so a 1 MiB id costs a log line of about {@value #DEFAULT_MAX_CHARS} characters.
 */
public final class LogSafe {

    /** Cap used by {@link #of(Object)}: enough for UUIDs, request ids and category names. */
    public static final int DEFAULT_MAX_CHARS = 128;

    private LogSafe() {}

    /** {@code value} escaped and capped at {@value #DEFAULT_MAX_CHARS} characters (plus the marker); null as "null". */
    public static String of(Object value) {
        return of(value, DEFAULT_MAX_CHARS);
    }

    /** {@code value} escaped and capped at {@code maxChars} output characters, followed by a marker if cut. */
    public static String of(Object value, int maxChars) {
        String s = String.valueOf(value);
        StringBuilder out = new StringBuilder(Math.min(s.length(), maxChars) + 24);
        int i = 0;
        while (i < s.length()) {
            int cp = s.codePointAt(i);
            String piece = escape(cp);
            if (out.length() + piece.length() > maxChars) {
                break;
            }
            out.append(piece);
            i += Character.charCount(cp);
        }
        if (i < s.length()) {
            out.append("...(+").append(s.length() - i).append(" chars)");
        }
        return out.toString();
    }

    private static String escape(int cp) {
        switch (cp) {
            case '\n':
                return "\\n";
            case '\r':
                return "\\r";
            case '\t':
                return "\\t";
            default:
                break;
        }
        int type = Character.getType(cp);
        // Cc (C0/C1 controls), Cf (bidi overrides, zero-width), Zl/Zp (U+2028/U+2029), lone surrogates, unassigned
        if (type == Character.CONTROL
                || type == Character.FORMAT
                || type == Character.LINE_SEPARATOR
                || type == Character.PARAGRAPH_SEPARATOR
                || type == Character.SURROGATE
                || type == Character.UNASSIGNED
                || type == Character.PRIVATE_USE) {
            return cp <= 0xFFFF ? String.format("\\u%04x", cp) : String.format("\\U%08x", cp);
        }
        return new String(Character.toChars(cp));
    }
}
