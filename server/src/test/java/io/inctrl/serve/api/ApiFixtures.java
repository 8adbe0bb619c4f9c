package io.inctrl.serve.api;

import static io.restassured.RestAssured.given;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import io.inctrl.serve.api.v1.PromptRegistryGrpc;
import io.inctrl.serve.registry.TestImages;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** Shared helpers of the API tests: tenants via the admin API, multipart uploads, gRPC stubs with a key. */
public final class ApiFixtures {

    public static final String ADMIN_KEY = "test-admin-key";

    private ApiFixtures() {}

    /** A tenant as the admin API returns it at creation. */
    public record TestTenant(String id, String key, String keyId) {}

    public static TestTenant tenant(Map<String, Object> quotas) {
        Map<String, Object> body = quotas == null
                ? Map.of("name", "t-" + UUID.randomUUID())
                : Map.of("name", "t-" + UUID.randomUUID(), "quotas", quotas);
        Response r = given().header("X-API-Key", ADMIN_KEY)
                .contentType("application/json")
                .body(body)
                .post("/v1/admin/tenants")
                .then()
                .statusCode(201)
                .extract()
                .response();
        return new TestTenant(r.path("tenant.id"), r.path("apiKey.key"), r.path("apiKey.id"));
    }

    public static TestTenant tenant() {
        return tenant(null);
    }

    public static RequestSpecification as(TestTenant t) {
        return given().header("X-API-Key", t.key());
    }

    public static RequestSpecification upload(TestTenant t, String name, String category, List<byte[]> shots) {
        RequestSpecification s = as(t).multiPart("name", name).multiPart("category", category);
        for (int i = 0; i < shots.size(); i++) {
            s = s.multiPart("shots", "shot" + i + ".png", shots.get(i), "image/png");
        }
        return s;
    }

    /** Registers a K-shot set through REST and returns its id. */
    public static String register(TestTenant t, String name, int k) {
        return upload(t, name, "screw", TestImages.normals(k))
                .post("/v1/prompt-sets")
                .then()
                .statusCode(201)
                .extract()
                .path("id");
    }

    /** A channel to the gRPC server of the running test application (its own random port). */
    public static ManagedChannel channel() {
        return ManagedChannelBuilder.forAddress("localhost", io.inctrl.serve.testing.GrpcTestChannels.grpcPort())
                .usePlaintext()
                .build();
    }

    public static PromptRegistryGrpc.PromptRegistryBlockingStub stub(ManagedChannel ch, String key) {
        Metadata md = new Metadata();
        if (key != null) {
            md.put(Metadata.Key.of("x-api-key", Metadata.ASCII_STRING_MARSHALLER), key);
        }
        return PromptRegistryGrpc.newBlockingStub(ch).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md));
    }
}
