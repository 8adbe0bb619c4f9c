package io.inctrl.serve.security;

import static org.assertj.core.api.Assertions.assertThat;

import io.inctrl.serve.audit.Origin;
import org.junit.jupiter.api.Test;

/** How each kind of caller is named in the audit log: never a secret, client text escaped. */
class CallerTest {

    @Test
    void origin_namesTheActorByKind() {
        assertThat(Caller.ADMIN.origin("10.0.0.1", null))
                .isEqualTo(new Origin(Origin.Actor.ADMIN, null, null, "10.0.0.1", null));
        assertThat(Caller.tenant("t1", "k1").origin("10.0.0.2", "r-1"))
                .isEqualTo(new Origin(Origin.Actor.KEY, "t1", "k1", "10.0.0.2", "r-1"));
        assertThat(Caller.anonymous("default").origin(null, ""))
                .isEqualTo(new Origin(Origin.Actor.ANONYMOUS, null, null, null, null));
    }

    @Test
    void origin_escapesAndCapsTheClientRequestId() {
        Origin o = Caller.ADMIN.origin("10.0.0.1", "line\nforged" + "x".repeat(500));
        assertThat(o.requestId())
                .startsWith("line\\nforged")
                .doesNotContain("\n")
                .hasSizeLessThan(160);
    }
}
