package io.inctrl.serve.testing;

import java.io.Writer;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A throw-away PKI made at test time with BouncyCastle (nothing committed): a CA, a server certificate for localhost
 * and a client certificate, both signed by it, as PEM files, plus the CA as a PKCS12 trust store (the gRPC server's
 * mTLS trust store must be PKCS12 or JKS).
 */
public final class TestPki {

    public static final String TRUST_STORE_PASSWORD = "changeit";

    private static final AtomicLong SERIAL = new AtomicLong(System.currentTimeMillis());

    private static TestPki instance;

    public final Path dir;
    public final Path caCert;
    public final Path serverCert;
    public final Path serverKey;
    public final Path clientCert;
    public final Path clientKey;
    public final Path caTrustStoreP12;

    private final X509Certificate ca;
    private final X509Certificate client;
    private final KeyPair clientKeys;

    private TestPki(Path dir) throws Exception {
        this.dir = dir;
        KeyPair caKeys = rsa();
        ca = sign(new X500Name("CN=inctrl-test-ca"), caKeys, new X500Name("CN=inctrl-test-ca"), caKeys, true, null);
        KeyPair serverKeys = rsa();
        X509Certificate server = sign(
                new X500Name("CN=localhost"),
                serverKeys,
                new X500Name("CN=inctrl-test-ca"),
                caKeys,
                false,
                KeyPurposeId.id_kp_serverAuth);
        clientKeys = rsa();
        client = sign(
                new X500Name("CN=inctrl-test-client"),
                clientKeys,
                new X500Name("CN=inctrl-test-ca"),
                caKeys,
                false,
                KeyPurposeId.id_kp_clientAuth);
        caCert = pem(dir.resolve("ca.crt"), ca);
        serverCert = pem(dir.resolve("server.crt"), server);
        serverKey = pem(dir.resolve("server.key"), serverKeys.getPrivate());
        clientCert = pem(dir.resolve("client.crt"), client);
        clientKey = pem(dir.resolve("client.key"), clientKeys.getPrivate());
        caTrustStoreP12 = dir.resolve("ca-truststore.p12");
        try (var out = Files.newOutputStream(caTrustStoreP12)) {
            trustStore().store(out, TRUST_STORE_PASSWORD.toCharArray());
        }
    }

    /** One PKI per test JVM: the profile's config and the test's clients must see the same files. */
    public static synchronized TestPki get() {
        if (instance == null) {
            try {
                instance = new TestPki(Files.createTempDirectory("inctrl-test-pki"));
            } catch (Exception e) {
                throw new IllegalStateException("could not generate the test PKI", e);
            }
        }
        return instance;
    }

    /**
     * A client TLS context: trusts the test CA when {@code trustCa} (else only the JDK's default CAs), and presents
     * the CA-signed client certificate when {@code withClientCert}.
     */
    public SSLContext clientContext(boolean trustCa, boolean withClientCert) throws Exception {
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trustCa ? trustStore() : null);
        KeyManagerFactory kmf = null;
        if (withClientCert) {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("client", clientKeys.getPrivate(), new char[0], new X509Certificate[] {client});
            kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, new char[0]);
        }
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return ctx;
    }

    private KeyStore trustStore() throws Exception {
        KeyStore ts = KeyStore.getInstance("PKCS12");
        ts.load(null, null);
        ts.setCertificateEntry("ca", ca);
        return ts;
    }

    private static KeyPair rsa() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        return g.generateKeyPair();
    }

    private static X509Certificate sign(
            X500Name subject, KeyPair subjectKeys, X500Name issuer, KeyPair issuerKeys, boolean isCa, KeyPurposeId use)
            throws Exception {
        Instant now = Instant.now();
        JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(
                issuer,
                BigInteger.valueOf(SERIAL.incrementAndGet()),
                Date.from(now.minus(Duration.ofMinutes(5))),
                Date.from(now.plus(Duration.ofDays(2))),
                subject,
                subjectKeys.getPublic());
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(isCa));
        if (isCa) {
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        } else {
            b.addExtension(
                    Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(use));
            if (use == KeyPurposeId.id_kp_serverAuth) {
                b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
                    new GeneralName(GeneralName.dNSName, "localhost"),
                    new GeneralName(GeneralName.iPAddress, "127.0.0.1")
                }));
            }
        }
        return new JcaX509CertificateConverter()
                .getCertificate(b.build(new JcaContentSignerBuilder("SHA256withRSA").build(issuerKeys.getPrivate())));
    }

    private static Path pem(Path file, Object o) throws Exception {
        try (Writer w = Files.newBufferedWriter(file);
                JcaPEMWriter pw = new JcaPEMWriter(w)) {
            pw.writeObject(o);
        }
        return file;
    }
}
