package io.inctrl.serve.audit;

import java.util.Arrays;
import java.util.Optional;

/** Every change the audit log records, with the stable code stored and shown ({@code tenant.create} ...). */
public enum AuditAction {
    TENANT_CREATE("tenant.create"),
    TENANT_QUOTAS("tenant.quotas"),
    TENANT_DELETE("tenant.delete"),
    KEY_CREATE("key.create"),
    KEY_ROTATE("key.rotate"),
    KEY_REVOKE("key.revoke"),
    TEMPLATE_CREATE("template.create"),
    TEMPLATE_UPDATE("template.update"),
    TEMPLATE_DELETE("template.delete"),
    PROMPT_SET_CREATE("prompt_set.create"),
    PROMPT_SET_THRESHOLD("prompt_set.threshold"),
    PROMPT_SET_REENCODE("prompt_set.reencode"),
    /** The server encoded a set for a model version that had not encoded it (background or first request). */
    PROMPT_SET_ENCODE("prompt_set.encode"),
    PROMPT_SET_DELETE("prompt_set.delete"),
    /** Shots added to a set (uploaded, or scored queries confirmed as normal): a new revision. */
    PROMPT_SET_SHOTS_ADD("prompt_set.shots.add"),
    /** Shots removed from a set: a new revision. */
    PROMPT_SET_SHOTS_REMOVE("prompt_set.shots.remove"),
    /** The set points at an earlier revision of its shots again. */
    PROMPT_SET_ROLLBACK("prompt_set.rollback"),
    MODEL_LOAD("model.load"),
    MODEL_UNLOAD("model.unload"),
    MODEL_ROLLOUT("model.rollout"),
    MODEL_PROMOTE("model.promote"),
    MODEL_ROLLBACK("model.rollback");

    public final String code;

    AuditAction(String code) {
        this.code = code;
    }

    public static Optional<AuditAction> ofCode(String code) {
        return Arrays.stream(values()).filter(a -> a.code.equals(code)).findFirst();
    }
}
