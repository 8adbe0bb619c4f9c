package io.inctrl.serve.registry;

import io.inctrl.serve.text.PromptTemplates;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/** Per-tenant text-prompt template sets: validation and CRUD. */
@ApplicationScoped
public class TemplateService {

    /** CLIP's text context, SOT and EOT included. */
    public static final int MAX_TOKENS = 77;
    /** Category used to check templates before any prompt set names a real one. */
    static final String PROBE_CATEGORY = "object";

    @Inject
    Store store;
    @Inject
    TemplateRepository templates;
    @Inject
    ModelPort model;
    @Inject
    TextPriorCache textPriors;

    /** The official defaults (spec §6), available to every tenant under id {@value TemplateSet#BUILT_IN_ID}. */
    public TemplateSet builtIn() {
        return new TemplateSet(TemplateSet.BUILT_IN_ID, null, "default", PromptTemplates.defaults(), 0, Instant.EPOCH, Instant.EPOCH);
    }

    public TemplateSet create(String tenantId, String name, List<String> normal, List<String> anomalous, List<String> tmpl) {
        String n = PromptSetService.checkName(name);
        PromptTemplates pt = validate(normal, anomalous, tmpl);
        Instant now = Store.now();
        TemplateSet t = new TemplateSet(UUID.randomUUID().toString(), tenantId, n, pt, 1, now, now);
        return store.tx(c -> {
            if (templates.nameTaken(c, tenantId, n, null)) {
                throw duplicate(n);
            }
            templates.insert(c, t);
            return t;
        });
    }

    public TemplateSet update(String tenantId, String id, String name, List<String> normal, List<String> anomalous,
                              List<String> tmpl) {
        String n = PromptSetService.checkName(name);
        PromptTemplates pt = validate(normal, anomalous, tmpl);
        TemplateSet updated = store.tx(c -> {
            TemplateSet old = find(c, tenantId, id);
            if (templates.nameTaken(c, tenantId, n, id)) {
                throw duplicate(n);
            }
            TemplateSet t = new TemplateSet(id, tenantId, n, pt, old.version() + 1, old.createdAt(), Store.now());
            templates.update(c, t);
            return t;
        });
        textPriors.invalidateTemplate(id);
        return updated;
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

    public void delete(String tenantId, String id) {
        store.tx(c -> {
            find(c, tenantId, id);
            int users = templates.usageCount(c, id);
            if (users > 0) {
                throw new RegistryException(RegistryException.Kind.FAILED_PRECONDITION, "TEMPLATE_IN_USE",
                        "template set '" + id + "' is used by " + users + " prompt set(s)");
            }
            templates.delete(c, tenantId, id);
            return null;
        });
        textPriors.invalidateTemplate(id);
    }

    /** The tenant's template set (or the built-in one) inside a transaction; NOT_FOUND for another tenant's. */
    TemplateSet resolve(Connection c, String tenantId, String id) throws SQLException {
        if (id == null || id.isBlank() || TemplateSet.BUILT_IN_ID.equals(id)) {
            return builtIn();
        }
        return find(c, tenantId, id);
    }

    /** Every sentence the templates yield for this category must fit CLIP's 77-token context. */
    public void checkSentences(PromptTemplates t, String category) {
        List<String> all = new ArrayList<>(t.normalSentences(category));
        all.addAll(t.anomalousSentences(category));
        for (String s : all) {
            int n = model.maxTokens(s);
            if (n > MAX_TOKENS) {
                throw RegistryException.invalid("SENTENCE_TOO_LONG",
                        "sentence '" + s + "' has " + n + " tokens; CLIP's limit is " + MAX_TOKENS + " including SOT/EOT");
            }
        }
    }

    private PromptTemplates validate(List<String> normal, List<String> anomalous, List<String> tmpl) {
        checkList("normal state", normal);
        checkList("anomalous state", anomalous);
        checkList("template", tmpl);
        PromptTemplates pt = new PromptTemplates(normal, anomalous, tmpl);
        checkSentences(pt, PROBE_CATEGORY);
        return pt;
    }

    private static void checkList(String what, List<String> items) {
        if (items == null || items.isEmpty()) {
            throw RegistryException.invalid("EMPTY_TEMPLATE_LIST", "at least one " + what + " is required");
        }
        if (items.size() > 1000) {
            throw RegistryException.invalid("TOO_MANY_TEMPLATES", "at most 1000 " + what + "s are allowed");
        }
        for (String s : items) {
            if (s == null || !s.contains("{}")) {
                throw RegistryException.invalid("TEMPLATE_MISSING_SLOT",
                        what + " '" + s + "' must contain the placeholder {}");
            }
        }
    }

    private TemplateSet find(Connection c, String tenantId, String id) throws SQLException {
        return templates.find(c, tenantId, id).orElseThrow(() -> RegistryException.notFound("template set", id));
    }

    private static RegistryException duplicate(String name) {
        return new RegistryException(RegistryException.Kind.ALREADY_EXISTS, "DUPLICATE_NAME",
                "a template set named '" + name + "' already exists");
    }
}
