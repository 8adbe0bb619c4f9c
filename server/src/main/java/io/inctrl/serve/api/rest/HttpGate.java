package io.inctrl.serve.api.rest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeErrors;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.lifecycle.Drain;
import io.inctrl.serve.logging.LogSafe;
import io.inctrl.serve.security.Authenticator;
import io.inctrl.serve.security.Caller;
import io.inctrl.serve.security.SecurityConfig;
import io.inctrl.serve.security.TokenAuthenticator;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.util.Optional;
import java.util.Set;

/**
 * The first handler of every REST call under {@code /v1} and {@code /v2} (a Vert.x route, before Quarkus REST reads
 * anything). It
 * <ul>
 *   <li>refuses new calls while the replica drains (503 {@code DRAINING} with {@code Retry-After}, as gRPC does) and
 *       counts the admitted ones, so the drain waits for REST calls too;
 *   <li>authenticates from the headers alone, with the request paused: no byte of the body is read before the caller
 *       is known. A refused caller gets its 401/403/429/503 at once, and on HTTP/1.1 the connection is closed after
 *       the answer, so an unauthenticated upload of any size costs the server its headers and one socket buffer
 *       (HTTP/2: the paused stream grants no flow-control window beyond the first 64 KiB).
 * </ul>
 * The key lookup may query the store, so it runs on a worker thread; the request stays paused meanwhile. The caller is
 * kept on the routing context for {@link ApiKeyFilter} (tenant API, admin API, console) and the Open Inference
 * Protocol resource; each request is authenticated, and rate-limited, exactly once. Errors are problem+json under
 * {@code /v1} and the protocol's {@code {"error", "reason"}} under {@code /v2}. The OIP server health and metadata
 * routes are public.
 */
@ApplicationScoped
public class HttpGate {

    /** Routing-context key of the authenticated {@link Caller}. */
    static final String CALLER = "inctrl.caller";

    /** Before Quarkus REST and the upload limit; nothing earlier reads the body (no global body handler). */
    static final int ORDER = -200;

    private static final Set<String> PUBLIC = Set.of("/v2", "/v2/health/live", "/v2/health/ready");

    @Inject
    Authenticator authenticator;

    @Inject
    TokenAuthenticator tokens;

    @Inject
    SecurityConfig security;

    @Inject
    Drain drain;

    @Inject
    ObjectMapper mapper;

    @Inject
    Vertx vertx;

    /**
     * Longest request URI answered: longer ones get 414 {@code URI_TOO_LONG} as problem+json. Vert.x's own check
     * (quarkus.http.limits.max-initial-line-length, raised to 64 KiB in application.properties) answers an empty 414,
     * so it only catches request lines beyond that.
     */
    static final int MAX_URI_CHARS = 4096;

    void init(@Observes Router router) {
        router.route().order(ORDER - 1).handler(rc -> {
            if (rc.request().uri().length() > MAX_URI_CHARS) {
                refuse(
                        rc,
                        new ServeException(
                                Reason.URI_TOO_LONG,
                                "the request URI is " + rc.request().uri().length() + " characters long, more than "
                                        + MAX_URI_CHARS),
                        rc.request().path().startsWith("/v2"));
            } else {
                rc.next();
            }
        });
        router.route("/v1/*").order(ORDER).handler(this::gate);
        router.route("/v2/*").order(ORDER).handler(this::gate);
    }

    /** The caller {@link HttpGate} authenticated for this request. */
    public static Caller caller(RoutingContext rc) {
        Caller c = rc == null ? null : rc.get(CALLER);
        if (c == null) { // every /v1 and /v2 route passes the gate first
            throw new ServeException(Reason.MISSING_API_KEY, "no authenticated caller");
        }
        return c;
    }

    private void gate(RoutingContext rc) {
        String path = rc.normalizedPath();
        if (path.length() > 1 && path.endsWith("/")) {
            path = path.substring(0, path.length() - 1);
        }
        if (PUBLIC.contains(path)) {
            rc.next();
            return;
        }
        boolean oip = path.startsWith("/v2");
        if (drain.draining()) {
            refuse(rc, drain.refusal(), oip);
            return;
        }
        HttpServerRequest request = rc.request();
        String key = request.getHeader(ApiKeyFilter.HEADER);
        Optional<String> token =
                key == null ? tokens.bearerToken(request.getHeader(HttpHeaders.AUTHORIZATION)) : Optional.empty();
        if (!security.enabled() || (token.isEmpty() && (key == null || key.isBlank()))) {
            // no store involved: answered on the event loop (an anonymous caller, or MISSING_API_KEY)
            try {
                admit(rc, authenticator.authenticate(key));
            } catch (RuntimeException e) {
                refuse(rc, e, oip);
            }
            return;
        }
        request.pause(); // nothing of the body is read (or buffered) until the caller is known
        vertx.<Caller>executeBlocking(
                        () -> token.isPresent() ? tokens.authenticate(token.get()) : authenticator.authenticate(key),
                        false)
                .onComplete(ar -> {
                    if (ar.failed()) {
                        refuse(rc, ar.cause(), oip);
                    } else {
                        admit(rc, ar.result());
                    }
                });
    }

    private void admit(RoutingContext rc, Caller caller) {
        rc.put(CALLER, caller);
        drain.callStarted();
        rc.addEndHandler(done -> drain.callEnded());
        rc.next();
    }

    private void refuse(RoutingContext rc, Throwable t, boolean oip) {
        ServeException e = ServeErrors.classify(t, "REST gate " + LogSafe.of(rc.normalizedPath(), 200));
        HttpServerResponse response = rc.response();
        if (response.ended()) {
            return;
        }
        Object body = oip ? Problems.oipError(e) : Problems.problem(e, rc.normalizedPath());
        String json;
        try {
            json = mapper.writeValueAsString(body);
        } catch (JsonProcessingException ex) {
            json = "{}";
        }
        response.setStatusCode(e.reasonCode().httpStatus())
                .putHeader(HttpHeaders.CONTENT_TYPE, oip ? "application/json" : Problems.MEDIA_TYPE);
        Problems.headers(e).forEach(response::putHeader);
        boolean bodyPending = !rc.request().isEnded();
        if (bodyPending && rc.request().version() != HttpVersion.HTTP_2) {
            // the unread body stays unread: close instead of draining it to keep the connection alive
            response.putHeader(HttpHeaders.CONNECTION, "close");
            response.end(json).onComplete(v -> rc.request().connection().close());
        } else {
            response.end(json);
        }
    }
}
