package io.inctrl.serve.security;

import io.inctrl.serve.registry.RegistryException;
import jakarta.enterprise.context.RequestScoped;

/** The authenticated caller of the current HTTP request, set by {@link ApiKeyFilter}. */
@RequestScoped
public class CurrentCaller {

    private Caller caller;

    void set(Caller caller) {
        this.caller = caller;
    }

    public Caller get() {
        return caller;
    }

    /** The tenant id; PERMISSION_DENIED (403) when the admin key is used on a tenant endpoint. */
    public String tenantId() {
        if (caller == null || caller.tenantId() == null) {
            throw new RegistryException(RegistryException.Kind.PERMISSION_DENIED, "TENANT_KEY_REQUIRED",
                    Caller.TENANT_KEY_REQUIRED);
        }
        return caller.tenantId();
    }

    /** PERMISSION_DENIED (403) unless the admin credential was presented. */
    public void requireAdmin() {
        if (caller == null || !caller.admin()) {
            throw new RegistryException(RegistryException.Kind.PERMISSION_DENIED, "ADMIN_KEY_REQUIRED",
                    "tenant management needs the admin key");
        }
    }
}
