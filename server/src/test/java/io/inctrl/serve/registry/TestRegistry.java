package io.inctrl.serve.registry;

import io.inctrl.serve.config.InctrlConfig;
import io.inctrl.serve.registry.RegistryConfig.StalePolicy;
import java.lang.reflect.Proxy;
import java.time.Instant;
import javax.sql.DataSource;

/** Builds the registry services by hand over any datasource (no Quarkus), with the fake model. */
public final class TestRegistry {

    public final Store store;
    public final FakeModelPort model;
    public final PromptSetService sets = new PromptSetService();
    public final TemplateService templates = new TemplateService();
    public final RegistryCounters counters = new RegistryCounters();
    public final FeatureCache cache;
    public final AuditTrail audit = new AuditTrail();

    public TestRegistry(DataSource ds, FakeModelPort model, StalePolicy policy, long cacheBytes) {
        this.store = new Store(ds);
        this.model = model;
        this.cache = new FeatureCache(cacheBytes);
        RegistryConfig cfg = config(policy, cacheBytes);
        TextPriorCache priors = new TextPriorCache(16);
        audit.store = store;
        audit.entries = new AuditRepository();
        audit.counters = counters;
        templates.audit = audit;
        sets.audit = audit;
        templates.store = store;
        templates.templates = new TemplateRepository();
        templates.model = model;
        templates.textPriors = priors;
        templates.config = cfg;
        sets.store = store;
        sets.tenants = new TenantRepository();
        sets.templateService = templates;
        sets.model = model;
        sets.featureCache = cache;
        sets.textPriors = priors;
        sets.calibrator = new Calibrator(cfg.calibration());
        sets.sets = new PromptSetRepository(sets.calibrator);
        sets.config = cfg;
        sets.limits = limits(1 << 20, 32);
        sets.counters = counters;
    }

    public TestRegistry(DataSource ds) {
        this(ds, new FakeModelPort(), StalePolicy.REENCODE, 1 << 30);
    }

    /** Inserts a tenant with the given quotas directly. */
    public String tenant(String name, Quotas q) {
        String id = "t-" + name;
        store.tx(c -> {
            new TenantRepository().insert(c, new Tenant(id, name, q, Instant.now()));
            return null;
        });
        return id;
    }

    public String tenant(String name) {
        return tenant(name, new Quotas(100, 16, 1000));
    }

    /** inctrl.limits with the two values the registry reads; any other is a test bug. */
    static InctrlConfig limits(int maxImageBytes, int maxShots) {
        InctrlConfig.Limits l = (InctrlConfig.Limits) Proxy.newProxyInstance(
                TestRegistry.class.getClassLoader(),
                new Class<?>[] {InctrlConfig.Limits.class},
                (proxy, m, args) -> switch (m.getName()) {
                    case "maxImageBytes" -> maxImageBytes;
                    case "maxShots" -> maxShots;
                    default -> throw new UnsupportedOperationException(m.getName());
                });
        return (InctrlConfig) Proxy.newProxyInstance(
                TestRegistry.class.getClassLoader(), new Class<?>[] {InctrlConfig.class}, (proxy, m, args) -> {
                    if (m.getName().equals("limits")) {
                        return l;
                    }
                    throw new UnsupportedOperationException(m.getName());
                });
    }

    static RegistryConfig config(StalePolicy policy, long cacheBytes) {
        return new RegistryConfig() {
            public String dataDir() {
                return "unused";
            }

            public StalePolicy stalePolicy() {
                return policy;
            }

            public java.time.Duration outageGrace() {
                return java.time.Duration.ofMinutes(5);
            }

            public Cache cache() {
                return new Cache() {
                    public long maxBytes() {
                        return cacheBytes;
                    }

                    public int textPriorEntries() {
                        return 16;
                    }
                };
            }

            public Startup startup() {
                return new Startup() {
                    public java.time.Duration initialBackoff() {
                        return java.time.Duration.ofSeconds(1);
                    }

                    public java.time.Duration maxBackoff() {
                        return java.time.Duration.ofSeconds(15);
                    }
                };
            }

            public Templates templates() {
                return new Templates() {
                    public int maxSentences() {
                        return 5000;
                    }

                    public long maxTotalTokens() {
                        return 100_000;
                    }

                    public int maxEntryLength() {
                        return 1000;
                    }

                    public int maxStoredChars() {
                        return 100_000;
                    }
                };
            }

            public Calibration calibration() {
                return new Calibration() {
                    public double targetFpr() {
                        return 0.05;
                    }

                    public double priorLogitScale() {
                        return 0.2;
                    }

                    public double priorDof() {
                        return 2;
                    }

                    public double outlierMadFactor() {
                        return 3.0;
                    }

                    public double outlierMinSpread() {
                        return 0.02;
                    }

                    public double fp16MaxAbsDiff() {
                        return 0.001;
                    }
                };
            }
        };
    }
}
