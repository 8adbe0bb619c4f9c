package io.inctrl.serve.error;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.rpc.ErrorInfo;
import com.google.rpc.RetryInfo;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.inctrl.serve.api.grpc.GrpcStatuses;
import io.inctrl.serve.api.oip.InferenceResource;
import io.inctrl.serve.api.rest.Problems;
import jakarta.ws.rs.core.Response;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The error contract: every reason renders with its one code on every transport, carries a retry hint exactly when
 * it is retryable, and docs/errors.md lists the catalogue as the enum defines it. Run with
 * {@code -Dinctrl.docs.write=true} to regenerate the table after changing the enum.
 */
class ReasonCatalogueTest {

    private static final Path DOC = Path.of("..", "docs", "errors.md");
    private static final Pattern TABLE =
            Pattern.compile("(<!-- reasons:begin[^>]*-->\n)(.*?)(<!-- reasons:end -->)", Pattern.DOTALL);

    @Test
    void docsListEveryReasonAsTheEnumDefinesIt() throws Exception {
        String doc = Files.readString(DOC, StandardCharsets.UTF_8);
        Matcher m = TABLE.matcher(doc);
        assertThat(m.find())
                .as("docs/errors.md has the reasons:begin/end markers")
                .isTrue();
        String generated = Reason.markdownTable();
        if (Boolean.getBoolean("inctrl.docs.write") && !m.group(2).equals(generated)) {
            Files.writeString(DOC, m.replaceFirst(Matcher.quoteReplacement(m.group(1) + generated + m.group(3))));
            return;
        }
        assertThat(m.group(2))
                .as("docs/errors.md is out of date: run this test with -Dinctrl.docs.write=true")
                .isEqualTo(generated);
    }

    @ParameterizedTest
    @EnumSource(Reason.class)
    void everyTransportRendersTheReasonWithItsOneCode(Reason r) {
        ServeException e = new ServeException(r, "message of " + r);
        // gRPC (and the drain interceptor, which renders through the same method)
        StatusRuntimeException grpc = GrpcStatuses.toStatus(e);
        com.google.rpc.Status details = StatusProto.fromThrowable(grpc);
        if (r != Reason.INTERNAL) {
            assertThat(grpc.getStatus().getCode().name()).isEqualTo(r.code().name());
        }
        assertThat(details.getDetailsList().stream()
                        .filter(a -> a.is(ErrorInfo.class))
                        .map(a -> unpack(a, ErrorInfo.class).getReason()))
                .containsExactly(r.name());
        assertThat(details.getDetailsList().stream().anyMatch(a -> a.is(RetryInfo.class)))
                .isEqualTo(r.retryable());
        // REST problem+json and the Open Inference Protocol's REST body
        Response rest = Problems.response(e, "/v1/x");
        assertThat(rest.getStatus()).isEqualTo(r.httpStatus());
        assertThat(((Problems.Problem) rest.getEntity()).reason()).isEqualTo(r.name());
        assertThat(rest.getHeaderString("Retry-After") != null).isEqualTo(r.retryable());
        assertThat(InferenceResource.body(e).reason()).isEqualTo(r.name());
    }

    @Test
    void onlyRetryableReasonsCarryAHint() {
        for (Reason r : Reason.values()) {
            ServeException e = new ServeException(r, "m");
            assertThat(e.retryAfter().isPresent()).as(r.name()).isEqualTo(r.retryable());
            if (!r.retryable()) {
                assertThatThrownBy(() -> new ServeException(r, "m", Duration.ofSeconds(1), null))
                        .isInstanceOf(IllegalArgumentException.class);
            }
        }
        assertThat(new ServeException(Reason.QUEUE_FULL, "m", Duration.ofMillis(250), null).retryAfter())
                .contains(Duration.ofMillis(250));
    }

    /** Issue 20 item 7: one condition, one code; quotas that waiting does not cure are never a retryable 429. */
    @Test
    void quotasThatWaitingDoesNotCureAreNot429() {
        assertThat(Reason.TOO_MANY_SHOTS.code()).isEqualTo(ServeException.Code.INVALID_ARGUMENT);
        assertThat(Reason.TOO_MANY_PROMPT_SETS.httpStatus()).isNotEqualTo(429);
        for (Reason r : Reason.values()) {
            if (r.httpStatus() == 429) {
                assertThat(r.retryable())
                        .as(r + " answers 429, which clients retry")
                        .isTrue();
            }
        }
    }

    private static <T extends com.google.protobuf.Message> T unpack(com.google.protobuf.Any a, Class<T> type) {
        try {
            return a.unpack(type);
        } catch (com.google.protobuf.InvalidProtocolBufferException ex) {
            throw new AssertionError(ex);
        }
    }
}
