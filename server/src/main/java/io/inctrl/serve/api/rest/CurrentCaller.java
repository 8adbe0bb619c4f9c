package io.inctrl.serve.api.rest;

import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.security.Caller;
import jakarta.enterprise.context.RequestScoped;

/** The authenticated caller of the current HTTP request, set by {@link ApiKeyFilter}. */
@RequestScoped
public class CurrentCaller {

    private Caller caller;

    void set(Caller caller) {
        this.caller = caller;
    }

    public Caller get() {
        if (caller == null) { // every JAX-RS request passes the filter first
            throw new ServeException(ServeException.Code.UNAUTHENTICATED, "MISSING_API_KEY", "no authenticated caller");
        }
        return caller;
    }

    /** {@link Caller#requireTenant()} of this request's caller. */
    public String tenantId() {
        return get().requireTenant();
    }

    /** {@link Caller#requireAdmin()} of this request's caller. */
    public void requireAdmin() {
        get().requireAdmin();
    }
}
