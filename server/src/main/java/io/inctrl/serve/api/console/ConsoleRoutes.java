package io.inctrl.serve.api.console;

import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

/**
 * The admin console is static files under {@code META-INF/resources/console/}. These routes add its security
 * headers (a strict CSP: same-origin scripts, styles and API calls only, no inline code, no framing) and send
 * {@code /console} to {@code /console/}. The console uses no cookies: the API key travels in X-API-Key.
 */
@ApplicationScoped
public class ConsoleRoutes {

    /**
     * {@code blob:} images are the thumbnails of files the operator picked; {@code data:} is not needed.
     * {@code form-action 'none'}: every form is handled by script, nothing is ever posted by the browser itself.
     */
    public static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
            + "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; "
            + "frame-ancestors 'none'";

    void init(@Observes Router router) {
        // Vert.x lets "/console" match "/console/" too: only the bare path is redirected
        router.route("/console")
                .method(HttpMethod.GET)
                .method(HttpMethod.HEAD)
                .order(-101)
                .handler(rc -> {
                    if ("/console".equals(rc.request().path())) {
                        secure(rc.response());
                        rc.response()
                                .setStatusCode(308)
                                .putHeader(HttpHeaders.LOCATION, "/console/")
                                .end();
                    } else {
                        rc.next();
                    }
                });
        // before the static-resource handler, so every console file carries the headers
        router.route("/console/*").order(-100).handler(rc -> {
            secure(rc.response());
            rc.next();
        });
    }

    static void secure(HttpServerResponse r) {
        r.putHeader("Content-Security-Policy", CSP);
        r.putHeader("X-Content-Type-Options", "nosniff");
        r.putHeader("X-Frame-Options", "DENY");
        r.putHeader("Referrer-Policy", "no-referrer");
        r.putHeader("Cross-Origin-Opener-Policy", "same-origin");
        r.putHeader("Cross-Origin-Resource-Policy", "same-origin");
        r.putHeader("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()");
        // the console is small and changes with the server: always revalidate instead of serving stale modules
        r.putHeader("Cache-Control", "no-cache");
    }
}
