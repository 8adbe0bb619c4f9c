package io.inctrl.serve.api.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.google.rpc.ErrorInfo;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.inctrl.serve.api.v1.ModelInfoRequest;
import io.inctrl.serve.api.v1.ScoreRequest;
import io.inctrl.serve.api.v1.ScoreResponse;
import io.inctrl.serve.api.v1.ScorerGrpc;
import io.quarkus.grpc.GrpcClient;
import io.quarkus.test.junit.QuarkusTest;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Inline scoring on a bundle of kind {@code inctrl} (the tiny test bundle): the text prior needs the category, so a
 * missing or blank one is refused with reason MISSING_CATEGORY before anything is encoded. The vision-only kind
 * ignores it instead ({@link PatchResidualServingTest}).
 */
@QuarkusTest
class InlineCategoryTest {

    private static final List<String> SHOTS = List.of("elpv/mono/shots/cell0449.png", "elpv/mono/shots/cell0988.png");

    @GrpcClient("scorer")
    ScorerGrpc.ScorerBlockingStub scorer;

    @Test
    void inctrl_bundle_refuses_inline_shots_without_a_category() throws Exception {
        assertThat(scorer.getModelInfo(ModelInfoRequest.getDefaultInstance()).getKind())
                .isEqualTo("inctrl");
        for (String category : List.of("", "   ")) {
            ScoreRequest r =
                    ScorerGrpcServiceTest.request("no-cat", "elpv/mono/test/good/cell0369.png", SHOTS, category);
            StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class, () -> scorer.score(r));
            assertThat(e).as("category '%s'", category).isNotNull();
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
            assertThat(e.getStatus().getDescription()).contains("category");
            assertThat(reason(e)).isEqualTo("MISSING_CATEGORY");
        }
        ScoreResponse ok = scorer.score(
                ScorerGrpcServiceTest.request("with-cat", "elpv/mono/test/good/cell0369.png", SHOTS, "mono"));
        assertThat(ok.hasSA()).as("the category feeds the text prior").isTrue();
    }

    static String reason(StatusRuntimeException e) throws Exception {
        com.google.rpc.Status details = StatusProto.fromThrowable(e);
        assertThat(details).isNotNull();
        return details.getDetailsList().stream()
                .filter(a -> a.is(ErrorInfo.class))
                .findFirst()
                .orElseThrow()
                .unpack(ErrorInfo.class)
                .getReason();
    }
}
