package io.inctrl.serve.registry;

import io.agroal.api.AgroalDataSource;
import io.quarkus.agroal.runtime.AgroalDataSourceUtil;
import io.quarkus.datasource.common.runtime.DataSourceUtil;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import org.jboss.logging.Logger;

/**
 * Wires the plain registry classes. The store is the PostgreSQL datasource {@code pg} when it is active
 * ({@code quarkus.datasource.pg.active=true}), else the default embedded H2 datasource.
 */
public class RegistryBeans {

    private static final Logger LOG = Logger.getLogger(RegistryBeans.class);

    @Produces
    @ApplicationScoped
    Store store(io.inctrl.serve.lifecycle.FatalErrors fatalErrors) {
        AgroalDataSource ds = AgroalDataSourceUtil.dataSourceIfActive("pg")
                .map(d -> {
                    LOG.info("prompt registry store: PostgreSQL datasource 'pg'");
                    return d;
                })
                .or(() -> AgroalDataSourceUtil.dataSourceIfActive(DataSourceUtil.DEFAULT_DATASOURCE_NAME))
                .orElseThrow(() -> new IllegalStateException("no active datasource for the prompt registry"));
        // opened by StoreStartup once the database was reached and migrated: a slow or absent database never fails the
        // start
        return new Store(ds, fatalErrors::record, false);
    }

    @Produces
    @ApplicationScoped
    FeatureCache featureCache(RegistryConfig cfg) {
        return new FeatureCache(cfg.cache().maxBytes());
    }

    @Produces
    @ApplicationScoped
    Calibrator calibrator(RegistryConfig cfg) {
        return new Calibrator(cfg.calibration());
    }

    @Produces
    @ApplicationScoped
    TenantRepository tenantRepository() {
        return new TenantRepository();
    }

    @Produces
    @ApplicationScoped
    TemplateRepository templateRepository() {
        return new TemplateRepository();
    }

    @Produces
    @ApplicationScoped
    AuditRepository auditRepository() {
        return new AuditRepository();
    }

    @Produces
    @ApplicationScoped
    PromptSetRepository promptSetRepository() {
        return new PromptSetRepository();
    }

    @Produces
    @ApplicationScoped
    EncodingRepository encodingRepository() {
        return new EncodingRepository();
    }
}
