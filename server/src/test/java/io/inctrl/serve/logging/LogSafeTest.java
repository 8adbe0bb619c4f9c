package io.inctrl.serve.logging;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Client text on its way into a log line or a metric label: escaped and capped. */
class LogSafeTest {

    @Test
    void newlinesAndControlCharacters_areEscaped_soNoValueCanStartALogLine() {
        String forged = "req-1\n2026-01-01 12:00:00,000 ERROR [io.inctrl] forged\r\u0000\u001b[31m\t";
        String safe = LogSafe.of(forged, 500);
        assertThat(safe)
                .doesNotContain("\n", "\r", "\u0000", "\u001b", "\t")
                .isEqualTo("req-1\\n2026-01-01 12:00:00,000 ERROR [io.inctrl] forged\\r\\u0000\\u001b[31m\\t");
    }

    @Test
    void unicodeLineSeparatorsAndBidiOverrides_areEscaped() {
        assertThat(LogSafe.of("a\u2028b\u2029c\u0085d\u202Ee\u2066f"))
                .isEqualTo("a\\u2028b\\u2029c\\u0085d\\u202ee\\u2066f");
    }

    @Test
    void aMebibyteValue_isCappedWithAMarkerSayingHowMuchWasCut() {
        String huge = "x".repeat(1 << 20);
        String safe = LogSafe.of(huge);
        assertThat(safe)
                .startsWith("x".repeat(LogSafe.DEFAULT_MAX_CHARS))
                .endsWith("...(+" + ((1 << 20) - LogSafe.DEFAULT_MAX_CHARS) + " chars)")
                .hasSizeLessThan(LogSafe.DEFAULT_MAX_CHARS + 30);
    }

    @Test
    void ordinaryText_passesUnchanged_andSurrogatePairsAreNeverSplit() {
        assertThat(LogSafe.of("metal_nut — Schraube 🔩")).isEqualTo("metal_nut — Schraube 🔩");
        assertThat(LogSafe.of(null)).isEqualTo("null");
        String cut = LogSafe.of("ab🔩🔩", 3); // the emoji is two chars: it does not fit after "ab"
        assertThat(cut).isEqualTo("ab...(+4 chars)");
    }
}
