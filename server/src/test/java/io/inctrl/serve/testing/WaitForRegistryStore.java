package io.inctrl.serve.testing;

import io.quarkus.test.junit.callback.QuarkusTestBeforeEachCallback;
import io.quarkus.test.junit.callback.QuarkusTestMethodContext;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * Before each @QuarkusTest method: waits until the application's registry database has been reached and migrated
 * (readiness check {@code registry-migrated}, see {@code registry.StoreStartup}). The server starts without waiting
 * for its database, so on a loaded machine a test could otherwise run before the store is open; this waits on that
 * condition rather than on a guessed delay. It gives up when the application stops answering its health port, or
 * after {@link #GIVE_UP} without the store (a schema this version cannot migrate never cures itself: fail, not hang).
 */
public class WaitForRegistryStore implements QuarkusTestBeforeEachCallback {

    static final Duration GIVE_UP = Duration.ofMinutes(5);

    private static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    @Override
    public void beforeEach(QuarkusTestMethodContext context) {
        String url = GrpcTestChannels.managementUrl("/q/health/ready");
        int unreachable = 0;
        long giveUp = System.nanoTime() + GIVE_UP.toNanos();
        while (true) {
            if (System.nanoTime() - giveUp > 0) {
                throw new IllegalStateException("the registry store of the application under test was not migrated"
                        + " within " + GIVE_UP + ": see the StoreStartup lines in its log");
            }
            try {
                String body = HTTP.send(
                                HttpRequest.newBuilder(URI.create(url))
                                        .timeout(Duration.ofSeconds(30))
                                        .build(),
                                HttpResponse.BodyHandlers.ofString())
                        .body();
                if (migrated(body)) {
                    return;
                }
                unreachable = 0;
            } catch (IOException e) {
                if (++unreachable > 100) { // 100 failed connections in a row: the application is gone
                    throw new IllegalStateException("the application's health port does not answer: " + url, e);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** The readiness JSON's check {@code registry-migrated} is UP (an application without it has nothing to wait for). */
    static boolean migrated(String readinessJson) throws IOException {
        for (com.fasterxml.jackson.databind.JsonNode check : new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(readinessJson)
                .path("checks")) {
            if (check.path("name").asText().equals("registry-migrated")) {
                return check.path("status").asText().equals("UP");
            }
        }
        return true;
    }
}
