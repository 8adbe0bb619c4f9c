package io.inctrl.serve.security;

import io.agroal.api.AgroalDataSource;
import io.quarkus.agroal.runtime.AgroalDataSourceUtil;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import java.util.Optional;
import org.jboss.logging.Logger;

/** Picks the rate limiter by the active registry datasource: PostgreSQL {@code pg} shares buckets, H2 keeps them local. */
public class RateLimiterBeans {

    private static final Logger LOG = Logger.getLogger(RateLimiterBeans.class);

    @Produces
    @ApplicationScoped
    TenantRateLimiter tenantRateLimiter(RateLimitConfig config) {
        Optional<AgroalDataSource> pg = config.store() == RateLimitConfig.Store.LOCAL
                ? Optional.empty()
                : AgroalDataSourceUtil.dataSourceIfActive("pg");
        if (pg.isPresent()) {
            LOG.info("tenant rate limits: shared by all replicas through the PostgreSQL datasource 'pg'");
            return new SharedRateLimiter(pg.get(), config.outageRetry());
        }
        if (config.store() == RateLimitConfig.Store.SHARED) {
            throw new IllegalStateException("inctrl.rate-limit.store=shared needs the PostgreSQL datasource "
                    + "(quarkus.datasource.pg.active=true)");
        }
        LOG.info("tenant rate limits: in memory on this replica");
        return new LocalRateLimiter();
    }
}
