package io.inctrl.serve.api.grpc;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.equalTo;

import grpc.health.v1.HealthGrpc;
import grpc.health.v1.HealthOuterClass.HealthCheckRequest;
import grpc.health.v1.HealthOuterClass.HealthCheckResponse.ServingStatus;
import io.grpc.ManagedChannel;
import io.inctrl.serve.api.v1.ScorerGrpc;
import io.inctrl.serve.testing.GrpcTestChannels;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import java.net.URL;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Health (gRPC and HTTP) and Prometheus metrics as an operator would scrape them. */
@QuarkusTest
class ObservabilityTest {

    @TestHTTPResource("/")
    URL url;

    @Test
    void grpc_health_reports_serving_for_the_server_and_the_scorer() throws Exception {
        ManagedChannel channel = GrpcTestChannels.open(url);
        try {
            HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(channel);
            assertThat(health.check(HealthCheckRequest.newBuilder()
                                    .setService("")
                                    .build())
                            .getStatus())
                    .isEqualTo(ServingStatus.SERVING);
            assertThat(health.check(HealthCheckRequest.newBuilder()
                                    .setService("inctrl.v1.Scorer")
                                    .build())
                            .getStatus())
                    .isEqualTo(ServingStatus.SERVING);
        } finally {
            GrpcTestChannels.close(channel);
        }
    }

    @Test
    void the_public_port_serves_no_unauthenticated_metrics_or_health() {
        // tenant ids and per-tenant counts live in the scrape: only the management interface serves it without a key
        given().when().get("/q/metrics").then().statusCode(404);
        given().when().get("/q/health/ready").then().statusCode(404);
    }

    @Test
    void http_readiness_names_the_bundle() {
        given().when()
                .get(GrpcTestChannels.managementUrl("/q/health/ready"))
                .then()
                .statusCode(200)
                .body("checks.find { it.name == 'model' }.status", equalTo("UP"))
                .body("checks.find { it.name == 'model' }.data.random_weights", equalTo(true));
    }

    @Test
    void prometheus_metrics_cover_queue_batches_stages_and_devices() throws Exception {
        ManagedChannel channel = GrpcTestChannels.open(url);
        try {
            ScorerGrpc.newBlockingStub(channel)
                    .score(ScorerGrpcServiceTest.request(
                            "metrics",
                            "elpv/mono/test/good/cell0369.png",
                            List.of("elpv/mono/shots/cell0449.png"),
                            "mono"));
        } finally {
            GrpcTestChannels.close(channel);
        }
        String metrics = given().when()
                .get(GrpcTestChannels.managementUrl("/q/metrics"))
                .then()
                .statusCode(200)
                .extract()
                .asString();
        assertThat(metrics)
                .contains(
                        "inctrl_queue_depth",
                        "inctrl_batch_size_count",
                        "inctrl_queue_wait_seconds",
                        "inctrl_device_busy_seconds_total",
                        "inctrl_stage_latency_seconds_bucket{stage=\"encode\"",
                        "inctrl_stage_latency_seconds_bucket{stage=\"decode\"",
                        "inctrl_stage_latency_seconds_bucket{stage=\"score\"",
                        "inctrl_stage_latency_seconds_bucket{stage=\"preprocess\"");
    }
}
