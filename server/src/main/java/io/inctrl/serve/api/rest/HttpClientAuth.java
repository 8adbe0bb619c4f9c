package io.inctrl.serve.api.rest;

import io.inctrl.serve.security.TlsConfig;
import io.quarkus.vertx.http.security.HttpSecurity;
import io.vertx.core.http.ClientAuth;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

/**
 * Applies {@code inctrl.tls.client-auth} to the HTTP server at startup. Quarkus' own key for it is fixed at build
 * time; this keeps mTLS a runtime choice, like the gRPC port's {@code quarkus.grpc.server.ssl.client-auth}.
 */
@ApplicationScoped
public class HttpClientAuth {

    void configure(@Observes HttpSecurity http, TlsConfig tls) {
        if (tls.clientAuth() != ClientAuth.NONE) {
            http.mTLS(tls.clientAuth());
        }
    }
}
