package io.inctrl.serve.registry;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

/** Drops registry cache entries when data changes outside the registry's own services. */
@ApplicationScoped
public class CacheEvictions {

    @Inject
    FeatureCache featureCache;

    /** Entries are keyed by set id; dropping all is simpler than listing the deleted tenant's sets. */
    void onTenantDeleted(@Observes TenantDeleted e) {
        featureCache.clear();
    }
}
