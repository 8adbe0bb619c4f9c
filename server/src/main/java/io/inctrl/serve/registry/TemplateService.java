package io.inctrl.serve.registry;

import io.inctrl.serve.audit.AuditAction;
import io.inctrl.serve.audit.Origin;
import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.logging.LogSafe;
import io.inctrl.serve.text.PromptTemplates;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/** Per-tenant text-prompt template sets: validation and CRUD; changes are audited ({@link AuditTrail}). */
@ApplicationScoped
public class TemplateService {

    /** CLIP's text context, SOT and EOT included. */
    public static final int MAX_TOKENS = 77;
    /** Category used to check templates before any prompt set names a real one. */
    static final String PROBE_CATEGORY = "object";
    /** Entries per list (states or templates). */
    static final int MAX_ENTRIES = 1000;

    @Inject
    Store store;

    @Inject
    TemplateRepository templates;

    @Inject
    ModelPort model;

    @Inject
    RegistryConfig config;

    @Inject
    AuditTrail audit;

    /** The official defaults (spec §6), available to every tenant under id {@value TemplateSet#BUILT_IN_ID}. */
    public TemplateSet builtIn() {
        return new TemplateSet(
                TemplateSet.BUILT_IN_ID, null, "default", PromptTemplates.defaults(), 0, Instant.EPOCH, Instant.EPOCH);
    }

    public TemplateSet create(
            Origin origin,
            String tenantId,
            String name,
            List<String> normal,
            List<String> anomalous,
            List<String> tmpl) {
        return audit.attempt(origin, AuditAction.TEMPLATE_CREATE, tenantId, null, () -> {
            String n = Names.check(name);
            PromptTemplates pt = validateForStorage(normal, anomalous, tmpl);
            Instant now = Store.now();
            TemplateSet t = new TemplateSet(UUID.randomUUID().toString(), tenantId, n, pt, 1, now, now);
            return store.tx(c -> {
                if (templates.nameTaken(c, tenantId, n, null)) {
                    throw duplicate(n);
                }
                templates.insert(c, t);
                audit.recordChange(c, origin, AuditAction.TEMPLATE_CREATE, tenantId, t.id());
                return t;
            });
        });
    }

    public TemplateSet update(
            Origin origin,
            String tenantId,
            String id,
            String name,
            List<String> normal,
            List<String> anomalous,
            List<String> tmpl) {
        TemplateSet updated = audit.attempt(origin, AuditAction.TEMPLATE_UPDATE, tenantId, id, () -> {
            String n = Names.check(name);
            PromptTemplates pt = validateForStorage(normal, anomalous, tmpl);
            return store.tx(c -> {
                TemplateSet old = find(c, tenantId, id);
                if (templates.nameTaken(c, tenantId, n, id)) {
                    throw duplicate(n);
                }
                TemplateSet t = new TemplateSet(id, tenantId, n, pt, old.version() + 1, old.createdAt(), Store.now());
                templates.update(c, t);
                audit.recordChange(c, origin, AuditAction.TEMPLATE_UPDATE, tenantId, id);
                return t;
            });
        });
        return updated; // text priors are cached by template content: the edited set gets new entries
    }

    public TemplateSet get(String tenantId, String id) {
        if (TemplateSet.BUILT_IN_ID.equals(id)) {
            return builtIn();
        }
        return store.tx(c -> find(c, tenantId, id));
    }

    public List<TemplateSet> list(String tenantId) {
        return store.tx(c -> templates.list(c, tenantId));
    }

    public void delete(Origin origin, String tenantId, String id) {
        audit.attempt(
                origin,
                AuditAction.TEMPLATE_DELETE,
                tenantId,
                id,
                () -> store.tx(c -> {
                    find(c, tenantId, id);
                    int users = templates.usageCount(c, id);
                    if (users > 0) {
                        throw new ServeException(
                                Reason.TEMPLATE_IN_USE,
                                "template set '" + id + "' is used by " + users + " prompt set(s)");
                    }
                    templates.delete(c, tenantId, id);
                    audit.recordChange(c, origin, AuditAction.TEMPLATE_DELETE, tenantId, id);
                    return null;
                }));
    }

    /** The tenant's template set (or the built-in one) inside a transaction; NOT_FOUND for another tenant's. */
    TemplateSet resolve(Connection c, String tenantId, String id) throws SQLException {
        if (id == null || id.isBlank() || TemplateSet.BUILT_IN_ID.equals(id)) {
            return builtIn();
        }
        return find(c, tenantId, id);
    }

    /**
     * Every sentence the templates yield for this category must fit CLIP's 77-token context, and together they must
     * stay within {@code inctrl.registry.templates}: the count is checked before any sentence is built, the tokens
     * while counting (so an oversized set stops early).
     */
    public void checkSentences(PromptTemplates t, String category) {
        checkSentenceCount(t);
        long total = 0;
        for (List<String> side : List.of(t.normalSentences(category), t.anomalousSentences(category))) {
            for (String s : side) {
                int n = model.maxTokens(s);
                if (n > MAX_TOKENS) {
                    throw ServeException.invalid(
                            Reason.SENTENCE_TOO_LONG,
                            "sentence '" + LogSafe.of(s, 200) + "' has " + n + " tokens; CLIP's limit is " + MAX_TOKENS
                                    + " including SOT/EOT");
                }
                total += n;
                if (total > config.templates().maxTotalTokens()) {
                    throw ServeException.invalid(
                            Reason.TOO_MANY_TOKENS,
                            "the sentences of this template set need more "
                                    + "than " + config.templates().maxTotalTokens()
                                    + " tokens in all (inctrl.registry.templates.max-total-tokens)");
                }
            }
        }
    }

    /**
     * The registry's structural rules for a template set, shared by saving and previewing: non-empty lists of at
     * most {@value #MAX_ENTRIES} entries, each with the {} placeholder and at most max-entry-length characters, each
     * list storable, and at most max-sentences sentences (from the list sizes, before expanding anything).
     */
    public PromptTemplates validate(List<String> normal, List<String> anomalous, List<String> tmpl) {
        checkList("normal state", normal);
        checkList("anomalous state", anomalous);
        checkList("template", tmpl);
        PromptTemplates pt = new PromptTemplates(normal, anomalous, tmpl);
        checkSentenceCount(pt);
        return pt;
    }

    private PromptTemplates validateForStorage(List<String> normal, List<String> anomalous, List<String> tmpl) {
        PromptTemplates pt = validate(normal, anomalous, tmpl);
        checkSentences(pt, PROBE_CATEGORY);
        return pt;
    }

    /** Upper bound (CIFAR class names yield one sentence per side): (states) x templates, no sentence built. */
    private void checkSentenceCount(PromptTemplates t) {
        long count = (long) (t.normalStates().size() + t.anomalousStates().size())
                * t.templates().size();
        int max = config.templates().maxSentences();
        if (count > max) {
            throw ServeException.invalid(
                    Reason.TOO_MANY_SENTENCES,
                    "(" + t.normalStates().size() + " normal + "
                            + t.anomalousStates().size() + " anomalous states) x "
                            + t.templates().size() + " templates = "
                            + count + " sentences, more than the limit of " + max
                            + " (inctrl.registry.templates.max-sentences)");
        }
    }

    private void checkList(String what, List<String> items) {
        if (items == null || items.isEmpty()) {
            throw ServeException.invalid(Reason.EMPTY_TEMPLATE_LIST, "at least one " + what + " is required");
        }
        if (items.size() > MAX_ENTRIES) {
            throw ServeException.invalid(
                    Reason.TOO_MANY_TEMPLATES, "at most " + MAX_ENTRIES + " " + what + "s are allowed");
        }
        int maxLength = config.templates().maxEntryLength();
        for (String s : items) {
            if (s != null && s.length() > maxLength) {
                throw ServeException.invalid(
                        Reason.TEMPLATE_TOO_LARGE,
                        what + " '" + LogSafe.of(s, 60) + "' has "
                                + s.length() + " characters, more than the limit of " + maxLength
                                + " (inctrl.registry.templates.max-entry-length)");
            }
            if (s == null || !s.contains("{}")) {
                throw ServeException.invalid(
                        Reason.TEMPLATE_MISSING_SLOT,
                        what + " '" + LogSafe.of(s) + "' must contain the placeholder {}");
            }
        }
        int stored = Json.write(items).length();
        if (stored > config.templates().maxStoredChars()) {
            throw ServeException.invalid(
                    Reason.TEMPLATE_TOO_LARGE,
                    "the " + what + "s take " + stored
                            + " characters as stored, more than the limit of "
                            + config.templates().maxStoredChars()
                            + " (inctrl.registry.templates.max-stored-chars)");
        }
    }

    private TemplateSet find(Connection c, String tenantId, String id) throws SQLException {
        return templates.find(c, tenantId, id).orElseThrow(() -> ServeException.notFound("template set", id));
    }

    private static ServeException duplicate(String name) {
        return new ServeException(Reason.DUPLICATE_NAME, "a template set named '" + name + "' already exists");
    }
}
