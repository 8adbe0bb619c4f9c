package io.inctrl.serve.api.rest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonMappingException;
import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeErrors;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.logging.LogSafe;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Request;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Collectors;
import org.eclipse.microprofile.config.ConfigProvider;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

/**
 * Renders every REST failure as an RFC 7807 problem ({@code application/problem+json}): {@link ServeException}s with
 * their reason and retry hint, JAX-RS errors (unknown path, wrong method or media type, unparsable parameter), malformed JSON bodies, and
 * anything unexpected as a 500 with an error id whose details are only in the server log (never SQL, host names or
 * exception classes).
 */
public class Problems {

    public static final String MEDIA_TYPE = "application/problem+json";

    /**
     * RFC 7807 body. {@code reason} is a stable machine-readable code such as {@code EMPTY_IMAGE}.
     */
    public record Problem(String type, String title, int status, String detail, String instance, String reason) {}

    /**
     * The one rendering of {@link ServeException} as a problem: status and type from its reason, and
     * {@code Retry-After} (whole seconds, rounded up) exactly when the reason is retryable. INTERNAL ones, whose
     * message may carry exception text, become an error id ({@link ServeErrors#classify}).
     */
    public static Response response(ServeException e, String instance) {
        ServeException c = ServeErrors.classify(e, "REST " + LogSafe.of(instance, 200));
        Response.ResponseBuilder b =
                Response.status(c.reasonCode().httpStatus()).type(MEDIA_TYPE).entity(problem(c, instance));
        headers(c).forEach(b::header);
        return b.build();
    }

    /**
     * The Open Inference Protocol's error body ({@code /v2}), with our stable reason beside its message. Rendered here
     * too because {@link HttpGate} refuses /v2 calls before they reach {@code api.oip}.
     */
    public record OipError(String error, String reason) {}

    /** The Open Inference Protocol's error body of an already classified error. */
    public static OipError oipError(ServeException e) {
        return new OipError(e.getMessage(), e.reason());
    }

    /** The problem body of an already classified error. */
    public static Problem problem(ServeException e, String instance) {
        Reason r = e.reasonCode();
        return new Problem(
                r.problemType(), r.code().name(), r.httpStatus(), e.getMessage(), LogSafe.of(instance, 256), r.name());
    }

    /** The headers every rendering of {@code e} carries: Retry-After when retryable, WWW-Authenticate on 401. */
    public static Map<String, String> headers(ServeException e) {
        Map<String, String> h = new LinkedHashMap<>();
        e.retryAfter().ifPresent(d -> h.put("Retry-After", Long.toString(retryAfterSeconds(d))));
        if (e.reasonCode().httpStatus() == 401) {
            h.put("WWW-Authenticate", "ApiKey header=\"X-API-Key\"");
        }
        return h;
    }

    /** Retry-After counts whole seconds: rounded up, so a client never comes back early (0 stays "now"). */
    public static long retryAfterSeconds(Duration d) {
        return (d.toMillis() + 999) / 1000;
    }

    private static Response.ResponseBuilder problem(Reason reason, String detail, String instance) {
        ServeException e = new ServeException(reason, detail);
        Response.ResponseBuilder b =
                Response.status(reason.httpStatus()).type(MEDIA_TYPE).entity(problem(e, instance));
        headers(e).forEach(b::header);
        return b;
    }

    @ServerExceptionMapper
    public Response map(ServeException e, UriInfo uri) {
        return response(e, uri.getPath());
    }

    /** JAX-RS's own refusals: 404 unknown path, 405, 406, 415, 400 for a parameter that does not convert... */
    @ServerExceptionMapper
    public Response map(WebApplicationException e, UriInfo uri, Request request, HttpHeaders headers) {
        int status = e.getResponse() == null ? 500 : e.getResponse().getStatus();
        if (status == 400 && e.getCause() instanceof JsonProcessingException json) { // the JSON reader wraps these
            return map(json, uri);
        }
        String path = LogSafe.of(uri.getPath(), 200);
        Response.ResponseBuilder b = switch (status) {
            case 404 -> problem(Reason.NO_SUCH_ENDPOINT, "no endpoint at " + path, path);
            case 405 ->
                problem(
                        Reason.METHOD_NOT_ALLOWED,
                        LogSafe.of(request.getMethod(), 16) + " is not allowed on " + path + allowed(e.getResponse()),
                        path);
            case 406 ->
                problem(
                        Reason.NOT_ACCEPTABLE,
                        "this endpoint answers application/json (errors application/problem+json)",
                        path);
            case 413 -> problem(Reason.PAYLOAD_TOO_LARGE, "the request body is too large", path);
            case 414 -> problem(Reason.URI_TOO_LONG, "the request URI is too long", path);
            case 415 ->
                problem(
                        Reason.UNSUPPORTED_MEDIA_TYPE,
                        "Content-Type '"
                                + LogSafe.of(headers.getHeaderString(HttpHeaders.CONTENT_TYPE), 100)
                                + "' is not accepted by "
                                + path + ": see /q/openapi for the media type each endpoint consumes",
                        path);
            // 400 and any other refusal of the framework: one reason, one status
            default ->
                status >= 500
                        ? null
                        : problem(
                                Reason.BAD_REQUEST,
                                "the request could not be read (HTTP " + status
                                        + "): check its parameters and body against /q/openapi",
                                path);
        };
        if (b == null) {
            return unexpected(e, uri);
        }
        if (status == 405 && e.getResponse().getHeaderString(HttpHeaders.ALLOW) != null) {
            b.header(HttpHeaders.ALLOW, e.getResponse().getHeaderString(HttpHeaders.ALLOW));
        }
        return b.build();
    }

    /** Unparsable JSON or a value of the wrong type: where it went wrong, not Jackson's text (it names Java types). */
    @ServerExceptionMapper
    public Response map(JsonProcessingException e, UriInfo uri) {
        String where = e instanceof JsonMappingException m && !m.getPath().isEmpty()
                ? " at "
                        + LogSafe.of(
                                m.getPath().stream()
                                        .map(r ->
                                                r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
                                        .collect(Collectors.joining(".")),
                                200)
                : e.getLocation() != null
                        ? " at line " + e.getLocation().getLineNr() + ", column "
                                + e.getLocation().getColumnNr()
                        : "";
        return problem(
                        Reason.MALFORMED_BODY,
                        "the JSON body is malformed or has a value of the " + "wrong type" + where,
                        uri.getPath())
                .build();
    }

    /**
     * A value of the wrong type ({@code {"threshold": "x"}}): Quarkus REST's own mapper for this subtype would win over
     * the one above and answer an empty 400, so it is claimed here explicitly.
     */
    @ServerExceptionMapper
    public Response map(com.fasterxml.jackson.databind.exc.MismatchedInputException e, UriInfo uri) {
        return map((JsonProcessingException) e, uri);
    }

    /**
     * Anything else is a bug or an outage: 500 with an error id. Quarkus REST's form parser signals too many
     * multipart parts with a plain RuntimeException ("Param limit of N was exceeded"): that one is the client's 413.
     */
    @ServerExceptionMapper
    public Response unexpected(Throwable t, UriInfo uri) {
        if (t instanceof RuntimeException
                && t.getMessage() != null
                && t.getMessage().startsWith("Param limit of ")) {
            int max = ConfigProvider.getConfig()
                    .getOptionalValue("quarkus.http.limits.max-parameters", Integer.class)
                    .orElse(1000);
            return problem(
                            Reason.TOO_MANY_PARTS,
                            "the form has more than " + max
                                    + " parts (quarkus.http.limits.max-parameters); prompt sets take at most the configured number "
                                    + "of shots",
                            uri.getPath())
                    .build();
        }
        return internal(t, uri.getPath());
    }

    private static Response internal(Throwable t, String path) {
        return response(ServeErrors.classify(t, "REST " + LogSafe.of(path, 200)), path);
    }

    private static String allowed(Response r) {
        String allow = r == null ? null : r.getHeaderString(HttpHeaders.ALLOW);
        return allow == null ? "" : " (allowed: " + allow + ")";
    }
}
