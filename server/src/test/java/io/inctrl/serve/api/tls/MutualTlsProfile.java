package io.inctrl.serve.api.tls;

import io.inctrl.serve.testing.TestPki;
import io.quarkus.test.junit.QuarkusTestProfile;
import java.util.Map;

/**
 * TLS on both public ports with client certificates required, from a CA generated for this JVM; plain HTTP off. The
 * same keys an operator sets (README, "TLS and mTLS").
 */
public class MutualTlsProfile implements QuarkusTestProfile {

    @Override
    public Map<String, String> getConfigOverrides() {
        TestPki pki = TestPki.get();
        return Map.ofEntries(
                Map.entry("quarkus.http.tls-configuration-name", "public"),
                Map.entry("quarkus.tls.public.key-store.pem.0.cert", pki.serverCert.toString()),
                Map.entry("quarkus.tls.public.key-store.pem.0.key", pki.serverKey.toString()),
                Map.entry("quarkus.tls.public.trust-store.pem.certs", pki.caCert.toString()),
                Map.entry("quarkus.http.insecure-requests", "disabled"),
                Map.entry("quarkus.http.test-ssl-port", "0"),
                Map.entry("quarkus.grpc.server.ssl.certificate", pki.serverCert.toString()),
                Map.entry("quarkus.grpc.server.ssl.key", pki.serverKey.toString()),
                Map.entry("quarkus.grpc.server.ssl.trust-store", pki.caTrustStoreP12.toString()),
                Map.entry("quarkus.grpc.server.ssl.trust-store-password", TestPki.TRUST_STORE_PASSWORD),
                Map.entry("inctrl.tls.client-auth", "required"));
    }
}
