package io.inctrl.serve.api;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.equalTo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Issue 20 item 1: a REST call is authenticated from its headers before any of its body is read. Each case announces
 * a 200 MiB body, sends only its first 64 KiB and then waits: the refusal must arrive while the server still has
 * 200 MiB to read (a server that read the body first would wait for the rest and never answer), and the connection
 * must be closed after it, so the client cannot make the server take the remaining bytes. Raw sockets, so no client
 * library decides anything.
 */
@QuarkusTest
@TestProfile(SecuredProfile.class)
class RestAuthBeforeBodyTest {

    private static final long ANNOUNCED = 200L << 20;
    private static final int SENT = 64 << 10;

    @TestHTTPResource("/")
    URL url;

    @ParameterizedTest
    @CsvSource({
        "POST, /v2/models/any-model/infer, application/octet-stream, , application/json, MISSING_API_KEY",
        "POST, /v2/models/any-model/infer, application/octet-stream, ik_not_a_key, application/json, INVALID_API_KEY",
        "POST, /v1/prompt-sets, multipart/form-data; boundary=xyz, , application/problem+json, MISSING_API_KEY",
        "POST, /v1/prompt-sets, multipart/form-data; boundary=xyz, ik_not_a_key, application/problem+json, "
                + "INVALID_API_KEY",
        "POST, /v1/prompt-sets/some-id/score, multipart/form-data; boundary=xyz, , application/problem+json, "
                + "MISSING_API_KEY",
        "POST, /v1/admin/tenants, application/json, wrong-admin-key, application/problem+json, INVALID_API_KEY",
        "PUT, /v1/templates/some-id, application/json, , application/problem+json, MISSING_API_KEY",
        "POST, /v1/no/such/endpoint, application/json, , application/problem+json, MISSING_API_KEY",
    })
    void an_unauthenticated_upload_is_refused_before_its_body_is_read(
            String method, String path, String contentType, String key, String answerType, String reason)
            throws Exception {
        try (Socket socket = new Socket(url.getHost(), url.getPort())) {
            socket.setSoTimeout(30_000);
            OutputStream out = socket.getOutputStream();
            String head = method + " " + path + " HTTP/1.1\r\nHost: " + url.getHost() + "\r\nContent-Type: "
                    + contentType + "\r\nContent-Length: " + ANNOUNCED + "\r\n"
                    + (key == null ? "" : "X-API-Key: " + key + "\r\n") + "\r\n";
            out.write(head.getBytes(StandardCharsets.US_ASCII));
            out.write(new byte[SENT]);
            out.flush();

            // the answer comes while 200 MiB - 64 KiB are still unsent (a read timeout here = the server waited)
            InputStream in = socket.getInputStream();
            Response r = readResponse(in);
            assertThat(r.status).as(r.head).isEqualTo(401);
            assertThat(r.head.toLowerCase()).contains("content-type: " + answerType);
            assertThat(r.head.toLowerCase()).contains("connection: close");
            JsonNode body = new ObjectMapper().readTree(r.body);
            assertThat(body.path("reason").asText()).isEqualTo(reason);

            // and the server closed the connection instead of reading (and discarding) the rest
            assertThat(readToEndOrTimeout(in))
                    .as("connection closed by the server")
                    .isTrue();
        }
    }

    /** Issue 20 item 10: a 414 is a problem like every other refusal, not an empty body. */
    @Test
    void a_too_long_uri_is_answered_with_a_problem() {
        given().header("X-API-Key", "ik_whatever")
                .get("/v1/prompt-sets?pageToken=" + "a".repeat(5000))
                .then()
                .statusCode(414)
                .contentType("application/problem+json")
                .body("reason", equalTo("URI_TOO_LONG"));
    }

    private record Response(int status, String head, byte[] body) {}

    private static Response readResponse(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        while (matched < 4) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("connection closed before a response: " + head);
            }
            head.write(b);
            matched = (b == "\r\n\r\n".charAt(matched)) ? matched + 1 : (b == '\r' ? 1 : 0);
        }
        String h = head.toString(StandardCharsets.US_ASCII);
        int status = Integer.parseInt(h.substring(9, 12));
        int length = 0;
        for (String line : h.split("\r\n")) {
            if (line.toLowerCase().startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(15).trim());
            }
        }
        return new Response(status, h, in.readNBytes(length));
    }

    /** True when the server closes the connection (EOF or reset) within the socket timeout. */
    private static boolean readToEndOrTimeout(InputStream in) throws IOException {
        try {
            byte[] buf = new byte[8192];
            while (in.read(buf) >= 0) {
                // nothing else should come; keep reading until EOF
            }
            return true;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException reset) {
            return true;
        }
    }
}
