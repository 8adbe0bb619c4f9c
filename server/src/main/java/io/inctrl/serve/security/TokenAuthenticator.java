package io.inctrl.serve.security;

import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import io.quarkus.oidc.AccessTokenCredential;
import io.quarkus.oidc.TenantIdentityProvider;
import io.quarkus.security.AuthenticationFailedException;
import io.quarkus.security.identity.SecurityIdentity;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.Optional;
import org.eclipse.microprofile.jwt.JsonWebToken;
import org.jboss.logging.Logger;

/**
 * Turns an OIDC bearer token into a {@link Caller} (REST only; gRPC and machines use API keys). quarkus-oidc verifies
 * signature, issuer and expiry against {@code quarkus.oidc.auth-server-url}; the mapping to admin or tenant is ours
 * ({@link SecurityConfig.Oidc}), and a tenant caller gets the same existence check and request rate as its keys.
 */
@ApplicationScoped
public class TokenAuthenticator {

    private static final Logger LOG = Logger.getLogger(TokenAuthenticator.class);

    /** Longest wait for the provider's keys (fetched once, then cached by quarkus-oidc). */
    private static final Duration VERIFY_TIMEOUT = Duration.ofSeconds(10);

    @Inject
    SecurityConfig config;

    @Inject
    Authenticator authenticator;

    /** The default OIDC tenant's verifier (quarkus.oidc.*); resolved lazily, so nothing is fetched while off. */
    @Inject
    Instance<TenantIdentityProvider> identityProvider;

    /**
     * The token of an {@code Authorization: Bearer} header when sign-in with tokens is on (and security is on), else
     * empty: with OIDC off a bearer header is ignored and the call needs its API key as always.
     */
    public Optional<String> bearerToken(String authorization) {
        if (!config.enabled() || !config.oidc().enabled() || authorization == null) {
            return Optional.empty();
        }
        if (!authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return Optional.empty();
        }
        String token = authorization.substring(7).trim();
        return token.isEmpty() ? Optional.empty() : Optional.of(token);
    }

    /**
     * @throws ServeException UNAUTHENTICATED (invalid, expired, foreign token), PERMISSION_DENIED (no InCTRL role or
     *     unknown tenant), UNAVAILABLE (provider unreachable) or RESOURCE_EXHAUSTED (tenant rate)
     */
    public Caller authenticate(String token) {
        SecurityIdentity identity;
        try {
            identity = identityProvider
                    .get()
                    .authenticate(new AccessTokenCredential(token))
                    .await()
                    .atMost(VERIFY_TIMEOUT);
        } catch (AuthenticationFailedException e) {
            LOG.debugf("bearer token refused: %s", e.getMessage());
            throw new ServeException(Reason.INVALID_TOKEN, "invalid, expired or foreign bearer token: sign in again");
        } catch (RuntimeException e) {
            // a timeout or an unreachable provider: nothing says the token is bad
            LOG.warnf("bearer token could not be verified: %s", e.toString());
            throw new ServeException(
                    Reason.IDENTITY_PROVIDER_UNAVAILABLE,
                    "the identity provider could not be reached to verify the token; retry later");
        }
        SecurityConfig.Oidc oidc = config.oidc();
        if (identity.hasRole(oidc.adminRole())) {
            return Caller.ADMIN;
        }
        Optional<String> tenant = tenantOf(identity, oidc);
        if (tenant.isEmpty()) {
            throw new ServeException(
                    Reason.NO_INCTRL_ROLE,
                    "the token grants neither the admin role nor a tenant: ask the identity provider's administrator");
        }
        return authenticator.tenant(tenant.get());
    }

    private static Optional<String> tenantOf(SecurityIdentity identity, SecurityConfig.Oidc oidc) {
        if (identity.getPrincipal() instanceof JsonWebToken jwt) {
            Object claim = jwt.getClaim(oidc.tenantClaim());
            String value =
                    claim instanceof jakarta.json.JsonString js ? js.getString() : claim instanceof String s ? s : null;
            if (value != null && !value.isBlank()) {
                return Optional.of(value.trim());
            }
        }
        String prefix = oidc.tenantRolePrefix();
        return identity.getRoles().stream()
                .filter(r -> r.startsWith(prefix) && r.length() > prefix.length())
                .map(r -> r.substring(prefix.length()))
                .sorted()
                .findFirst();
    }
}
