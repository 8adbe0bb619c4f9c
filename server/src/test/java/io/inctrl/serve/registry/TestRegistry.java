package io.inctrl.serve.registry;

import io.inctrl.serve.audit.Origin;
import io.inctrl.serve.config.InctrlConfig;
import io.inctrl.serve.image.Inspection;
import io.inctrl.serve.models.ModelsConfig;
import jakarta.enterprise.event.Event;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
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
    public final Encodings encodings = new Encodings();
    public final RecentQueries recent = new RecentQueries();
    /** Sets the registry announced as changed (registrations); the background encoder would react to them. */
    public final List<String> changed = new CopyOnWriteArrayList<>();

    public TestRegistry(DataSource ds, FakeModelPort model, ModelsConfig.OnMissing onMissing, long cacheBytes) {
        this(ds, model, onMissing, cacheBytes, 4096);
    }

    /** {@code bankTokens}: inctrl.registry.memory-bank.max-tokens (the fake model has 4 patches per shot). */
    public TestRegistry(
            DataSource ds, FakeModelPort model, ModelsConfig.OnMissing onMissing, long cacheBytes, int bankTokens) {
        this.store = new Store(ds);
        this.model = model;
        this.cache = new FeatureCache(cacheBytes);
        RegistryConfig cfg = config(cacheBytes, bankTokens);
        Calibrator calibrator = new Calibrator(cfg.calibration());
        ModelsConfig models = models(onMissing, Duration.ofMinutes(2));
        PromptSetEncoder encoder = new PromptSetEncoder();
        encoder.calibrator = calibrator;
        encoder.counters = counters;
        encoder.config = cfg;
        audit.store = store;
        audit.entries = new AuditRepository();
        audit.counters = counters;
        templates.audit = audit;
        sets.audit = audit;
        templates.store = store;
        templates.templates = new TemplateRepository();
        templates.model = model;
        templates.config = cfg;
        encodings.store = store;
        encodings.sets = new PromptSetRepository();
        encodings.rows = new EncodingRepository();
        encodings.templates = templates;
        encodings.encoder = encoder;
        encodings.audit = audit;
        encodings.featureCache = cache;
        encodings.calibrator = calibrator;
        encodings.config = models;
        encodings.counters = counters;
        sets.store = store;
        sets.tenants = new TenantRepository();
        sets.templateService = templates;
        sets.model = model;
        sets.featureCache = cache;
        sets.calibrator = calibrator;
        sets.sets = encodings.sets;
        sets.encodingRows = encodings.rows;
        sets.encoder = encoder;
        sets.encodings = encodings;
        sets.config = cfg;
        sets.modelsConfig = models;
        sets.limits = limits(1 << 20, 32);
        sets.counters = counters;
        sets.background = Runnable::run;
        sets.changes = new RecordingEvent(changed);
        sets.recentQueries = recent;
        recent.config = cfg;
        model.recent = recent;
        recent.init();
        sets.autoInspection = new AutoInspection();
        sets.autoInspection.model = model;
        sets.autoInspection.config = sets.limits;
        sets.drift = new io.inctrl.serve.drift.DriftWatch() {
            @Override
            public void forget(String tenant, String promptSetId) {
                // no drift watch in these tests
            }
        };
        model.sets = sets;
    }

    public TestRegistry(DataSource ds) {
        this(ds, new FakeModelPort(), ModelsConfig.OnMissing.ENCODE, 1 << 30);
    }

    /** Registers as the system (no audit origin to speak of), with the server's defaults for what is not named. */
    public PromptSetDetails register(
            String tenant, String name, String category, String templateId, List<byte[]> shots, boolean fp16) {
        return register(tenant, name, category, templateId, shots, fp16, null);
    }

    public PromptSetDetails register(
            String tenant,
            String name,
            String category,
            String templateId,
            List<byte[]> shots,
            boolean fp16,
            Float targetFpr) {
        return sets.register(
                Origin.SYSTEM,
                tenant,
                new PromptSetService.NewPromptSet(
                        name, category, templateId, shots, fp16, targetFpr, Inspection.CENTER_CROP, null));
    }

    /** CDI's Event for hand-built services: records what was fired. */
    private record RecordingEvent(List<String> fired) implements Event<PromptSetService.PromptSetChanged> {
        @Override
        public void fire(PromptSetService.PromptSetChanged e) {
            fired.add(e.setId());
        }

        @Override
        public <U extends PromptSetService.PromptSetChanged> java.util.concurrent.CompletionStage<U> fireAsync(U e) {
            fire(e);
            return java.util.concurrent.CompletableFuture.completedFuture(e);
        }

        @Override
        public <U extends PromptSetService.PromptSetChanged> java.util.concurrent.CompletionStage<U> fireAsync(
                U e, jakarta.enterprise.event.NotificationOptions o) {
            return fireAsync(e);
        }

        @Override
        public Event<PromptSetService.PromptSetChanged> select(java.lang.annotation.Annotation... q) {
            return this;
        }

        @Override
        public <U extends PromptSetService.PromptSetChanged> Event<U> select(
                Class<U> subtype, java.lang.annotation.Annotation... q) {
            throw new UnsupportedOperationException();
        }

        @Override
        public <U extends PromptSetService.PromptSetChanged> Event<U> select(
                jakarta.enterprise.util.TypeLiteral<U> subtype, java.lang.annotation.Annotation... q) {
            throw new UnsupportedOperationException();
        }
    }

    /** inctrl.models.* as the registry reads it. */
    static ModelsConfig models(ModelsConfig.OnMissing onMissing, Duration lease) {
        ModelsConfig.Encoding enc = (ModelsConfig.Encoding) Proxy.newProxyInstance(
                TestRegistry.class.getClassLoader(),
                new Class<?>[] {ModelsConfig.Encoding.class},
                (proxy, m, args) -> switch (m.getName()) {
                    case "concurrency" -> 1;
                    case "onMissing" -> onMissing;
                    case "lease" -> lease;
                    case "sweepInterval" -> Duration.ofSeconds(30);
                    default -> throw new UnsupportedOperationException(m.getName());
                });
        return (ModelsConfig) Proxy.newProxyInstance(
                TestRegistry.class.getClassLoader(), new Class<?>[] {ModelsConfig.class}, (proxy, m, args) -> {
                    if (m.getName().equals("encoding")) {
                        return enc;
                    }
                    throw new UnsupportedOperationException(m.getName());
                });
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
                    if (m.getName().equals("inspection")) {
                        return (InctrlConfig.Inspection) () -> 32;
                    }
                    throw new UnsupportedOperationException(m.getName());
                });
    }

    static RegistryConfig config(long cacheBytes) {
        return config(cacheBytes, 4096);
    }

    static RegistryConfig config(long cacheBytes, int bankTokens) {
        return new RegistryConfig() {
            public String dataDir() {
                return "unused";
            }

            public java.time.Duration outageGrace() {
                return java.time.Duration.ofMinutes(5);
            }

            public Cache cache() {
                return new Cache() {
                    public long maxBytes() {
                        return cacheBytes;
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

            public MemoryBank memoryBank() {
                return () -> bankTokens;
            }

            public int maxSetShots() {
                return 1024;
            }

            public RecentQueries recentQueries() {
                return new RecentQueries() {
                    public long maxBytes() {
                        return 1 << 24;
                    }

                    public java.time.Duration ttl() {
                        return java.time.Duration.ofHours(1);
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
