package io.inctrl.serve.api.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.rpc.ErrorInfo;
import com.google.rpc.RetryInfo;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.inctrl.serve.api.v1.ScoreRequest;
import io.inctrl.serve.api.v1.ScoreResponse;
import io.inctrl.serve.api.v1.ScorerGrpc;
import io.inctrl.serve.testing.GrpcTestChannels;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.net.URL;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Deadlines, cancellation and queue limits, observed through real gRPC calls and the server's own counters. */
@QuarkusTest
@TestProfile(SlowBatchingProfile.class)
class BatchingAdmissionTest {

    @TestHTTPResource("/")
    URL url;

    @Inject
    MeterRegistry registry;

    private ManagedChannel channel;

    @BeforeEach
    void open() {
        channel = GrpcTestChannels.open(url);
    }

    @AfterEach
    void close() throws InterruptedException {
        GrpcTestChannels.close(channel);
    }

    @Test
    void work_whose_deadline_passes_in_the_queue_is_dropped_before_compute() throws Exception {
        // the batcher's deadline timer and the transport's deadline cancellation race; either drops the job
        double droppedBefore = count("inctrl.queue.expired") + count("inctrl.queue.cancelled");
        long batchesBefore = batches();
        assertThatThrownBy(() -> ScorerGrpc.newBlockingStub(channel)
                        .withDeadlineAfter(400, TimeUnit.MILLISECONDS)
                        .score(request("late")))
                .isInstanceOfSatisfying(
                        StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (count("inctrl.queue.expired") + count("inctrl.queue.cancelled") < droppedBefore + 1
                && System.nanoTime() < until) {
            Thread.sleep(50);
        }
        assertThat(count("inctrl.queue.expired") + count("inctrl.queue.cancelled"))
                .isGreaterThan(droppedBefore);
        Thread.sleep(2500); // longer than the batch delay: a batch holding the job would have run by now
        assertThat(batches()).as("batches computed").isEqualTo(batchesBefore);
    }

    private long batches() {
        var summary = registry.find("inctrl.batch.size").summary();
        return summary == null ? 0 : summary.count();
    }

    @Test
    void a_cancelled_call_takes_its_queued_work_with_it() throws Exception {
        double before = count("inctrl.queue.cancelled");
        ListenableFuture<ScoreResponse> call = ScorerGrpc.newFutureStub(channel).score(request("cancel-me"));
        Thread.sleep(500); // decoded and queued, waiting for its batch to fill
        call.cancel(true);
        awaitCount("inctrl.queue.cancelled", before + 1);
    }

    @Test
    void a_full_queue_answers_resource_exhausted_with_a_retry_hint() throws Exception {
        List<ListenableFuture<ScoreResponse>> calls = new ArrayList<>();
        ScorerGrpc.ScorerFutureStub stub = ScorerGrpc.newFutureStub(channel);
        for (int i = 0; i < 12; i++) {
            calls.add(stub.score(request("flood-" + i)));
        }
        int exhausted = 0;
        int ok = 0;
        for (ListenableFuture<ScoreResponse> c : calls) {
            try {
                c.get(2, TimeUnit.MINUTES);
                ok++;
            } catch (ExecutionException e) {
                Status s = Status.fromThrowable(e.getCause());
                assertThat(s.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
                assertThat(s.getDescription()).contains("retry after");
                // the same hint, machine-readable: google.rpc ErrorInfo + RetryInfo in the status details
                com.google.rpc.Status details = StatusProto.fromThrowable(e.getCause());
                assertThat(details).isNotNull();
                ErrorInfo info = details.getDetailsList().stream()
                        .filter(a -> a.is(ErrorInfo.class))
                        .findFirst()
                        .orElseThrow()
                        .unpack(ErrorInfo.class);
                assertThat(info.getReason()).isEqualTo("QUEUE_FULL");
                assertThat(info.getDomain()).isEqualTo("inctrl.io");
                RetryInfo retry = details.getDetailsList().stream()
                        .filter(a -> a.is(RetryInfo.class))
                        .findFirst()
                        .orElseThrow()
                        .unpack(RetryInfo.class);
                long hintMs = retry.getRetryDelay().getSeconds() * 1000
                        + retry.getRetryDelay().getNanos() / 1_000_000;
                assertThat(hintMs).as("RetryInfo delay").isPositive();
                assertThat(s.getDescription()).contains("retry after " + hintMs + " ms");
                exhausted++;
            }
        }
        assertThat(exhausted).as("requests refused by the 6-job queue").isPositive();
        assertThat(ok).as("requests admitted").isPositive();
    }

    /** Issue 20 item 6: a rig must tell "wait and resend" from "drop the image" inside a ScoreStream too. */
    @Test
    void a_full_queue_fails_stream_items_with_their_reason_and_when_to_resend() throws Exception {
        List<ScoreResponse> answers = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.concurrent.CompletableFuture<Void> done = new java.util.concurrent.CompletableFuture<>();
        io.grpc.stub.StreamObserver<io.inctrl.serve.api.v1.ScoreRequest> requests = ScorerGrpc.newStub(channel)
                .withDeadlineAfter(2, TimeUnit.MINUTES)
                .scoreStream(new io.grpc.stub.StreamObserver<>() {
                    @Override
                    public void onNext(ScoreResponse r) {
                        answers.add(r);
                    }

                    @Override
                    public void onError(Throwable t) {
                        done.completeExceptionally(t);
                    }

                    @Override
                    public void onCompleted() {
                        done.complete(null);
                    }
                });
        for (int i = 0; i < 12; i++) { // the stream window (32) pulls all of them at once; the queue holds 6
            requests.onNext(request("stream-" + i).toBuilder().setOmitMap(true).build());
        }
        requests.onCompleted();
        done.get(2, TimeUnit.MINUTES);
        assertThat(answers).hasSize(12);
        List<ScoreResponse> refused =
                answers.stream().filter(ScoreResponse::hasError).toList();
        assertThat(refused).as("items refused by the 6-job queue").isNotEmpty();
        assertThat(refused).allSatisfy(r -> {
            assertThat(r.getError().getCode()).isEqualTo("RESOURCE_EXHAUSTED");
            assertThat(r.getError().getReason()).isEqualTo("QUEUE_FULL");
            assertThat(r.getError().hasRetryAfter()).isTrue();
            assertThat(r.getError().getRetryAfter().getSeconds() * 1000
                            + r.getError().getRetryAfter().getNanos() / 1_000_000)
                    .isPositive();
        });
    }

    private ScoreRequest request(String id) {
        return ScorerGrpcServiceTest.request(
                id, "mvtec_ad/transistor/shots/021.png", List.of("mvtec_ad/transistor/shots/013.png"), "transistor");
    }

    private double count(String name) {
        return registry.find(name).counters().stream()
                .mapToDouble(c -> c.count())
                .sum();
    }

    private void awaitCount(String name, double atLeast) {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (count(name) < atLeast && System.nanoTime() < until) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        assertThat(count(name)).as(name).isGreaterThanOrEqualTo(atLeast);
    }
}
