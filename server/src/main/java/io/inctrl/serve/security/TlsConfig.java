package io.inctrl.serve.security;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.vertx.core.http.ClientAuth;

/**
 * {@code inctrl.tls.*}: client-certificate (mTLS) policy of both public ports. The certificates themselves are
 * Quarkus settings (the named TLS configuration {@code quarkus.tls.public.*} for REST, {@code
 * quarkus.grpc.server.ssl.*} for gRPC); see the README.
 */
@ConfigMapping(prefix = "inctrl.tls")
public interface TlsConfig {

    /**
     * {@code none}, {@code request} or {@code required}: whether REST (HTTPS) and gRPC clients must present
     * a certificate signed by the configured trust store. Applies only when TLS is configured on that port.
     */
    @WithDefault("none")
    ClientAuth clientAuth();
}
