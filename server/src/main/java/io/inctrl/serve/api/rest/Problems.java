package io.inctrl.serve.api.rest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonMappingException;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.logging.InternalErrors;
import io.inctrl.serve.logging.LogSafe;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Request;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import java.util.Locale;
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
     * The one translation of {@link ServeException} into a problem: status from its code, its reason, and
     * {@code Retry-After} (whole seconds, rounded up) when it carries a retry hint. INTERNAL ones, whose message may
     * carry exception text, become an error id.
     */
    public static Response response(ServeException e, String instance) {
        if (e.code() == ServeException.Code.INTERNAL) {
            return internal(e, instance);
        }
        Response.ResponseBuilder b =
                problem(e.code().httpStatus, e.code().name(), e.reason(), e.getMessage(), instance);
        e.retryAfter().ifPresent(d -> b.header("Retry-After", Math.max(1, (d.toMillis() + 999) / 1000)));
        return b.build();
    }

    private static Response.ResponseBuilder problem(
            int status, String title, String reason, String detail, String instance) {
        Problem p = new Problem(
                "urn:inctrl:problem:" + reason.toLowerCase(Locale.ROOT).replace('_', '-'),
                title,
                status,
                detail,
                LogSafe.of(instance, 256),
                reason);
        Response.ResponseBuilder b = Response.status(status).type(MEDIA_TYPE).entity(p);
        if (status == 401) {
            b.header("WWW-Authenticate", "ApiKey header=\"X-API-Key\"");
        }
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
            case 400 ->
                problem(
                        400,
                        "INVALID_ARGUMENT",
                        "BAD_REQUEST",
                        "the request could not be read: check its parameters and body against /q/openapi",
                        path);
            case 404 -> problem(404, "NOT_FOUND", "NO_SUCH_ENDPOINT", "no endpoint at " + path, path);
            case 405 ->
                problem(
                        405,
                        "METHOD_NOT_ALLOWED",
                        "METHOD_NOT_ALLOWED",
                        LogSafe.of(request.getMethod(), 16) + " is not allowed on " + path + allowed(e.getResponse()),
                        path);
            case 406 ->
                problem(
                        406,
                        "NOT_ACCEPTABLE",
                        "NOT_ACCEPTABLE",
                        "this endpoint answers application/json (errors application/problem+json)",
                        path);
            case 413 -> problem(413, "RESOURCE_EXHAUSTED", "PAYLOAD_TOO_LARGE", "the request body is too large", path);
            case 415 ->
                problem(
                        415,
                        "INVALID_ARGUMENT",
                        "UNSUPPORTED_MEDIA_TYPE",
                        "Content-Type '"
                                + LogSafe.of(headers.getHeaderString(HttpHeaders.CONTENT_TYPE), 100)
                                + "' is not accepted by "
                                + path + ": see /q/openapi for the media type each endpoint consumes",
                        path);
            default ->
                status >= 500
                        ? null
                        : problem(
                                status,
                                "INVALID_ARGUMENT",
                                "HTTP_" + status,
                                "the request was refused (HTTP " + status + ")",
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
                        400,
                        "INVALID_ARGUMENT",
                        "MALFORMED_BODY",
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
                            413,
                            "RESOURCE_EXHAUSTED",
                            "TOO_MANY_PARTS",
                            "the form has more than " + max
                                    + " parts (quarkus.http.limits.max-parameters); prompt sets take at most the configured number "
                                    + "of shots",
                            uri.getPath())
                    .build();
        }
        return internal(t, uri.getPath());
    }

    private static Response internal(Throwable t, String path) {
        String errorId = InternalErrors.log("REST " + LogSafe.of(path, 200) + " failed", t);
        return problem(500, "INTERNAL", "INTERNAL", InternalErrors.clientMessage(errorId), path)
                .build();
    }

    private static String allowed(Response r) {
        String allow = r == null ? null : r.getHeaderString(HttpHeaders.ALLOW);
        return allow == null ? "" : " (allowed: " + allow + ")";
    }
}
