package io.inctrl.serve.registry;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.inctrl.serve.scoring.ScoredQueries;
import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;

/**
 * The queries scored against registered sets recently, by query id (returned with the score), bounded by bytes and
 * time ({@code inctrl.registry.recent-queries.*}): confirming one as normal adds it to its set without a second
 * upload. In memory on the replica that scored it (image bytes per request are too many to write to the store).
 */
@ApplicationScoped
public class RecentQueries implements ScoredQueries {

    /** One retained query. */
    public record Query(String id, String tenantId, String promptSetId, byte[] image, float score, Instant scoredAt) {}

    @Inject
    RegistryConfig config;

    private Cache<String, Query> cache;

    @PostConstruct
    void init() {
        RegistryConfig.RecentQueries c = config.recentQueries();
        cache = Caffeine.newBuilder()
                .maximumWeight(Math.max(0, c.maxBytes()))
                .weigher((String k, Query q) -> q.image().length + 200)
                .expireAfterWrite(c.ttl())
                .build();
    }

    @Override
    public String retain(String tenant, String promptSetId, byte[] image, float score) {
        if (config.recentQueries().maxBytes() <= 0) {
            return null;
        }
        String id = UUID.randomUUID().toString();
        cache.put(id, new Query(id, tenant, promptSetId, image, score, Instant.now()));
        return id;
    }

    /** The query if it is still kept and was scored by {@code tenant} against {@code promptSetId}. */
    public Optional<Query> find(String tenant, String promptSetId, String queryId) {
        Query q = queryId == null ? null : cache.getIfPresent(queryId);
        return q != null && q.tenantId().equals(tenant) && q.promptSetId().equals(promptSetId)
                ? Optional.of(q)
                : Optional.empty();
    }
}
