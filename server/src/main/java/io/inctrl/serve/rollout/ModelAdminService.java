package io.inctrl.serve.rollout;

import io.inctrl.serve.audit.AuditAction;
import io.inctrl.serve.audit.Origin;
import io.inctrl.serve.models.LoadedModel;
import io.inctrl.serve.models.ModelManager;
import io.inctrl.serve.models.ModelRef;
import io.inctrl.serve.registry.AuditTrail;
import io.inctrl.serve.registry.RegistryCounters;
import io.inctrl.serve.registry.Store;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.List;
import org.jboss.logging.Logger;

/**
 * Loads and unloads model versions on this replica for the admin API and the Open Inference Protocol's repository
 * extension, with an audit entry for each ({@code model.load} / {@code model.unload}, target the model name, detail
 * the version). A load is a change of this process, not of the store: its entry is written after it succeeded, and an
 * entry that cannot be written is logged and counted ({@code inctrl.audit.write.failures}) without failing the call,
 * whose change did happen. A refused load or unload is recorded with its reason, as every refused change is.
 */
@ApplicationScoped
public class ModelAdminService {

    private static final Logger LOG = Logger.getLogger(ModelAdminService.class);

    @Inject
    ModelManager models;

    @Inject
    AuditTrail audit;

    @Inject
    Store store;

    @Inject
    RegistryCounters counters;

    /** Loads one version whatever the model's version policy says (e.g. a canary); a loaded one is returned as is. */
    public LoadedModel load(Origin origin, ModelRef ref) {
        return audit.attempt(origin, AuditAction.MODEL_LOAD, null, ref.name(), () -> {
            boolean already = models.get(ref).isPresent();
            LoadedModel m = models.load(ref);
            record(
                    origin,
                    AuditAction.MODEL_LOAD,
                    ref.name(),
                    "version=" + ref.version() + " bundle=" + m.bundleId() + (already ? " (already loaded)" : ""));
            return m;
        });
    }

    /** Stops serving one version (its queued work is answered first) and frees it. */
    public void unload(Origin origin, ModelRef ref) {
        audit.attempt(origin, AuditAction.MODEL_UNLOAD, null, ref.name(), () -> {
            models.unload(ref);
            record(origin, AuditAction.MODEL_UNLOAD, ref.name(), "version=" + ref.version());
            return null;
        });
    }

    /**
     * Brings the model in line with the repository and its version policy ({@link ModelManager#apply}): one
     * {@code model.load} entry per version loaded, one {@code model.unload} per version dropped, or one
     * {@code model.load} saying nothing changed.
     *
     * @return the versions loaded afterwards, highest first
     */
    public List<ModelRef> reload(Origin origin, String model) {
        return audit.attempt(origin, AuditAction.MODEL_LOAD, null, model, () -> {
            List<ModelRef> before = loadedRefs(model);
            List<ModelRef> after = models.apply(model);
            List<ModelRef> added = new ArrayList<>(after);
            added.removeAll(before);
            List<ModelRef> dropped = new ArrayList<>(before);
            dropped.removeAll(after);
            String policy = models.versionPolicy(model).toString();
            for (ModelRef r : added) {
                record(origin, AuditAction.MODEL_LOAD, model, "version=" + r.version() + " reload policy=" + policy);
            }
            for (ModelRef r : dropped) {
                record(origin, AuditAction.MODEL_UNLOAD, model, "version=" + r.version() + " reload policy=" + policy);
            }
            if (added.isEmpty() && dropped.isEmpty()) {
                record(origin, AuditAction.MODEL_LOAD, model, "reload policy=" + policy + ": no change");
            }
            return after;
        });
    }

    /** Unloads every loaded version of the model (the OIP repository extension's unload). */
    public List<ModelRef> unloadModel(Origin origin, String model) {
        return audit.attempt(origin, AuditAction.MODEL_UNLOAD, null, model, () -> {
            List<ModelRef> refs = models.unloadModel(model);
            for (ModelRef r : refs) {
                record(origin, AuditAction.MODEL_UNLOAD, model, "version=" + r.version());
            }
            return refs;
        });
    }

    private List<ModelRef> loadedRefs(String model) {
        return models.versions(model).stream().map(LoadedModel::ref).toList();
    }

    private void record(Origin origin, AuditAction action, String model, String detail) {
        try {
            store.tx(c -> {
                audit.recordChange(c, origin, action, null, model, detail);
                return null;
            });
        } catch (RuntimeException e) {
            counters.auditWriteFailures.incrementAndGet();
            LOG.warnf("audit entry of %s %s (%s) could not be written: %s", action.code, model, detail, e.getMessage());
        }
    }
}
