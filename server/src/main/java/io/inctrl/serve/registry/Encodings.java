package io.inctrl.serve.registry;

import io.inctrl.serve.audit.AuditAction;
import io.inctrl.serve.audit.Origin;
import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.models.ModelsConfig;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * Encodes a prompt set for a model version that has not encoded it yet, once per fleet: the replica that inserts the
 * encoding row in state ENCODING holds a claim (renewed while it works) and is the only one that may complete it;
 * others wait for it (a request) or move on (the background encoder). Threads of one replica share one encoding in
 * memory. A claim whose replica died expires after {@code inctrl.models.encoding.lease} and is taken over.
 */
@ApplicationScoped
public class Encodings {

    private static final Logger LOG = Logger.getLogger(Encodings.class);

    /** A failed encoding is tried again after this long (by the next request or background sweep). */
    static final Duration FAILED_RETRY = Duration.ofMinutes(1);

    @Inject
    Store store;

    @Inject
    PromptSetRepository sets;

    @Inject
    EncodingRepository rows;

    @Inject
    TemplateService templates;

    @Inject
    PromptSetEncoder encoder;

    @Inject
    AuditTrail audit;

    @Inject
    FeatureCache featureCache;

    @Inject
    Calibrator calibrator;

    @Inject
    ModelsConfig config;

    @Inject
    RegistryCounters counters;

    private final String owner = ReplicaId.get();
    private final ConcurrentHashMap<FeatureCache.Key, CompletableFuture<Encoding>> inProcess =
            new ConcurrentHashMap<>();
    private final ScheduledExecutorService renewals = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "inctrl-encoding-leases");
        t.setDaemon(true);
        return t;
    });

    /** What a background attempt did. */
    public enum Outcome {
        /** Encoded here now. */
        ENCODED,
        /** Already READY (another replica, or earlier). */
        READY,
        /** Another replica (or thread) holds the claim. */
        BUSY,
        /** The attempt failed; recorded on the row. */
        FAILED,
        /** The set is gone. */
        GONE
    }

    private sealed interface Claim {
        record Ready(Encoding e) implements Claim {}

        record Claimed() implements Claim {}

        record Busy(Encoding e) implements Claim {}

        record Failed(Encoding e) implements Claim {}
    }

    /**
     * The READY encoding of {@code set}'s current revision by {@code v}: the stored one, else encoded here under a
     * claim, else the one another replica is computing, waited for until {@code deadline} (null: its lease).
     *
     * @throws ServeException UNAVAILABLE when the encoding failed (with the reason) or did not finish in time
     */
    public Encoding ensure(PromptSet set, ModelVersionPort v, Instant deadline) {
        FeatureCache.Key key = new FeatureCache.Key(set.id(), set.revision(), v.encoderId());
        while (true) {
            CompletableFuture<Encoding> mine = new CompletableFuture<>();
            CompletableFuture<Encoding> running = inProcess.putIfAbsent(key, mine);
            if (running != null) {
                return await(running, deadline);
            }
            try {
                Encoding e = ensureOwned(set, v, key, deadline);
                mine.complete(e);
                if (e != null) {
                    return e;
                }
            } catch (RuntimeException ex) {
                mine.completeExceptionally(ex);
                throw ex;
            } finally {
                inProcess.remove(key, mine);
            }
            // null: another replica's claim expired while we waited; claim again
        }
    }

    /** As {@link #ensure} for one thread of this replica at a time; null when a claim should be tried again. */
    private Encoding ensureOwned(PromptSet set, ModelVersionPort v, FeatureCache.Key key, Instant deadline) {
        Claim c = claim(set, v);
        if (c instanceof Claim.Ready r) {
            return r.e();
        }
        if (c instanceof Claim.Claimed) {
            return encodeClaimed(set, v);
        }
        if (c instanceof Claim.Failed f) {
            throw failed(set, v, f.e());
        }
        return waitFor(key, ((Claim.Busy) c).e(), deadline);
    }

    /** One background attempt: encodes (in batcher lane {@code lane}) when nobody holds the claim, never waits. */
    public Outcome tryEncode(String setId, ModelVersionPort version, String lane) {
        ModelVersionPort v = version.inLane(lane);
        Optional<PromptSet> found = store.tx(c -> sets.findById(c, setId));
        if (found.isEmpty()) {
            return Outcome.GONE;
        }
        PromptSet set = found.get();
        FeatureCache.Key key = new FeatureCache.Key(set.id(), set.revision(), v.encoderId());
        CompletableFuture<Encoding> mine = new CompletableFuture<>();
        if (inProcess.putIfAbsent(key, mine) != null) {
            return Outcome.BUSY;
        }
        try {
            Claim c = claim(set, v);
            Outcome o;
            if (c instanceof Claim.Ready r) {
                mine.complete(r.e());
                o = Outcome.READY;
            } else if (c instanceof Claim.Claimed) {
                try {
                    mine.complete(encodeClaimed(set, v));
                    o = Outcome.ENCODED;
                } catch (RuntimeException e) {
                    mine.completeExceptionally(e);
                    o = Outcome.FAILED;
                }
            } else {
                mine.complete(null);
                o = c instanceof Claim.Busy ? Outcome.BUSY : Outcome.FAILED;
            }
            return o;
        } finally {
            inProcess.remove(key, mine);
        }
    }

    private Claim claim(PromptSet set, ModelVersionPort v) {
        EncodingRepository.Encoder who = encoderOf(v);
        for (int attempt = 0; ; attempt++) {
            try {
                return store.tx(c -> {
                    Instant now = Store.now();
                    Instant lease = now.plus(config.encoding().lease());
                    Optional<Encoding> row = rows.find(c, set.id(), set.revision(), who.encoder());
                    if (row.isEmpty()) {
                        rows.insertClaim(c, set.id(), set.revision(), who, owner, lease, now);
                        return new Claim.Claimed();
                    }
                    Encoding e = row.get();
                    return switch (e.state()) {
                        case READY -> new Claim.Ready(e);
                        case ENCODING ->
                            e.leaseUntil() != null && e.leaseUntil().isAfter(now)
                                    ? new Claim.Busy(e)
                                    : takeOver(c, e, who, lease, now);
                        case FAILED ->
                            e.updatedAt().plus(FAILED_RETRY).isBefore(now)
                                    ? takeOver(c, e, who, lease, now)
                                    : new Claim.Failed(e);
                    };
                });
            } catch (ServeException e) {
                // two replicas inserted the same claim at once: the other one won; read what it wrote
                if (!"DUPLICATE".equals(e.reason()) || attempt > 2) {
                    throw e;
                }
            }
        }
    }

    private Claim takeOver(
            java.sql.Connection c, Encoding seen, EncodingRepository.Encoder who, Instant lease, Instant now)
            throws java.sql.SQLException {
        if (rows.takeOver(c, seen, who, owner, lease, now)) {
            if (seen.state() == Encoding.State.ENCODING) {
                LOG.infof(
                        "taking over the encoding of set %s by %s: the claim of %s expired at %s",
                        seen.promptSetId(), who.encoder(), seen.owner(), seen.leaseUntil());
            }
            return new Claim.Claimed();
        }
        // someone changed it since we read it: whatever it is now decides
        Encoding now2 = rows.find(c, seen.promptSetId(), seen.revision(), seen.encoder())
                .orElseThrow();
        return now2.ready() ? new Claim.Ready(now2) : new Claim.Busy(now2);
    }

    /** Computes and stores the encoding this replica claimed; audited as the server's own change. */
    private Encoding encodeClaimed(PromptSet set, ModelVersionPort v) {
        EncodingRepository.Encoder who = encoderOf(v);
        long period = Math.max(1000, config.encoding().lease().toMillis() / 3);
        ScheduledFuture<?> renewal =
                renewals.scheduleAtFixedRate(() -> renew(set, who), period, period, TimeUnit.MILLISECONDS);
        long t0 = System.nanoTime();
        try {
            record Loaded(List<byte[]> shots, TemplateSet template, io.inctrl.serve.image.InspectionChoice choice) {}
            Loaded l = store.tx(c -> new Loaded(
                    sets.shots(c, set.id(), set.revision()),
                    templates.resolve(c, set.tenantId(), set.templateId()),
                    choiceOf(rows.list(c, set.id(), set.revision()))));
            float target = set.targetFpr() == null ? calibrator.defaultTargetFpr() : set.targetFpr();
            PromptSetEncoder.Encoded enc = encoder.encode(
                    v, l.shots(), set.inspection(), l.template(), set.category(), set.precision(), target, l.choice());
            Encoding done = store.tx(c -> {
                Instant now = Store.now();
                if (!rows.complete(
                        c,
                        set.id(),
                        set.revision(),
                        who.encoder(),
                        owner,
                        l.template().version(),
                        enc.calibration(),
                        now)) {
                    return null; // our claim was taken over: the other replica's result stands
                }
                rows.replaceFeatures(c, set.id(), set.revision(), who.encoder(), enc.parts());
                audit.recordChange(
                        c, Origin.SYSTEM, AuditAction.PROMPT_SET_ENCODE, set.tenantId(), set.id(), detail(v, set));
                return rows.find(c, set.id(), set.revision(), who.encoder()).orElseThrow();
            });
            if (done == null) {
                LOG.warnf(
                        "lost the claim on set %s by %s while encoding it; keeping the other replica's",
                        set.id(), v.ref());
                return store.tx(c -> rows.find(c, set.id(), set.revision(), who.encoder()))
                        .filter(Encoding::ready)
                        .orElseThrow(() -> notReady(set, v));
            }
            featureCache.put(
                    new FeatureCache.Key(set.id(), set.revision(), who.encoder()), done.version(), enc.stored());
            counters.encodings.incrementAndGet();
            LOG.infof(
                    "encoded prompt set %s (tenant %s, revision %d, K=%d) for %s in %d ms",
                    set.id(),
                    set.tenantId(),
                    set.revision(),
                    l.shots().size(),
                    v.ref(),
                    (System.nanoTime() - t0) / 1_000_000);
            return done;
        } catch (RuntimeException e) {
            String why = e instanceof ServeException s ? s.reason() + ": " + s.getMessage() : "internal error";
            LOG.warnf("encoding prompt set %s for %s failed: %s", set.id(), v.ref(), why);
            try {
                store.tx(c -> {
                    rows.fail(c, set.id(), set.revision(), who.encoder(), owner, why, Store.now());
                    return null;
                });
            } catch (RuntimeException ignored) {
                // the claim expires by itself when the store cannot be written
            }
            throw e;
        } finally {
            renewal.cancel(false);
        }
    }

    private void renew(PromptSet set, EncodingRepository.Encoder who) {
        try {
            store.tx(c -> rows.renew(
                    c,
                    set.id(),
                    set.revision(),
                    who.encoder(),
                    owner,
                    Store.now().plus(config.encoding().lease())));
        } catch (RuntimeException e) {
            LOG.debugf("lease renewal of set %s failed: %s", set.id(), e.getMessage());
        }
    }

    /** Polls the row another replica is encoding until it is READY, fails, its lease ends or the deadline passes. */
    private Encoding waitFor(FeatureCache.Key key, Encoding busy, Instant deadline) {
        Instant until = deadline != null ? deadline : busy.leaseUntil().plusSeconds(1);
        long sleepMillis = 20;
        while (true) {
            Encoding e = store.tx(c -> rows.find(c, key.setId(), key.revision(), key.encoder()))
                    .orElse(null);
            Instant now = Store.now();
            if (e == null) {
                return null; // removed (set deleted, or re-created): claim again
            }
            if (e.ready()) {
                return e;
            }
            if (e.state() == Encoding.State.FAILED) {
                throw new ServeException(
                        Reason.PROMPT_SET_ENCODING_FAILED,
                        "encoding the prompt set for this model version failed: " + e.error(),
                        FAILED_RETRY,
                        null);
            }
            if (e.leaseUntil() == null || !e.leaseUntil().isAfter(now)) {
                return null; // the claimer died: take it over
            }
            if (now.isAfter(until)) {
                throw new ServeException(
                        Reason.PROMPT_SET_ENCODING,
                        "the prompt set is being encoded for this model version by another replica; retry shortly",
                        Duration.ofSeconds(2),
                        null);
            }
            try {
                Thread.sleep(sleepMillis);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                throw ServeException.cancelled();
            }
            sleepMillis = Math.min(500, sleepMillis * 2);
        }
    }

    private static Encoding await(CompletableFuture<Encoding> running, Instant deadline) {
        try {
            Encoding e = deadline == null
                    ? running.get()
                    : running.get(
                            Math.max(
                                    0, Duration.between(Instant.now(), deadline).toMillis()),
                            TimeUnit.MILLISECONDS);
            if (e == null) {
                throw new ServeException(
                        Reason.PROMPT_SET_ENCODING,
                        "the prompt set is being encoded for this model version; retry shortly",
                        Duration.ofSeconds(1),
                        null);
            }
            return e;
        } catch (java.util.concurrent.ExecutionException ex) {
            throw ex.getCause() instanceof RuntimeException r ? r : new IllegalStateException(ex.getCause());
        } catch (java.util.concurrent.TimeoutException ex) {
            throw new ServeException(
                    Reason.DEADLINE_EXCEEDED,
                    "deadline passed while the prompt set was being encoded for this model version");
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw ServeException.cancelled();
        }
    }

    /** How auto inspection chose the set's mode, as an encoding of the set remembers it; null when none does. */
    public static io.inctrl.serve.image.InspectionChoice choiceOf(List<Encoding> encodings) {
        return encodings.stream()
                .map(Encoding::calibration)
                .filter(c -> c != null && c.inspectionChoice() != null)
                .map(Calibration::inspectionChoice)
                .findFirst()
                .orElse(null);
    }

    static EncodingRepository.Encoder encoderOf(ModelVersionPort v) {
        return new EncodingRepository.Encoder(
                v.encoderId(), v.ref().name(), v.ref().version(), v.bundleId(), v.precision());
    }

    static String detail(ModelVersionPort v, PromptSet set) {
        return "model=" + v.ref().name() + " version=" + v.ref().version() + " revision=" + set.revision() + " encoder="
                + v.encoderId();
    }

    private static ServeException failed(PromptSet set, ModelVersionPort v, Encoding e) {
        return new ServeException(
                Reason.PROMPT_SET_ENCODING_FAILED,
                "encoding prompt set '" + set.id() + "' for " + v.ref() + " failed: " + e.error(),
                Duration.between(Instant.now(), e.updatedAt().plus(FAILED_RETRY))
                                .isNegative()
                        ? Duration.ZERO
                        : Duration.between(Instant.now(), e.updatedAt().plus(FAILED_RETRY)),
                null);
    }

    private static ServeException notReady(PromptSet set, ModelVersionPort v) {
        return new ServeException(
                Reason.PROMPT_SET_ENCODING,
                "prompt set '" + set.id() + "' is not encoded for " + v.ref() + " yet; retry shortly",
                Duration.ofSeconds(1),
                null);
    }

    @PreDestroy
    void stop() {
        renewals.shutdownNow();
    }
}
