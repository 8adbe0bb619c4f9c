package io.inctrl.serve.api.rest;

import io.inctrl.serve.audit.Origin;
import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.security.Caller;
import jakarta.enterprise.context.RequestScoped;

/** The authenticated caller of the current HTTP request, set by {@link ApiKeyFilter}. */
@RequestScoped
public class CurrentCaller {

    private Caller caller;
    private Origin origin;

    void set(Caller caller, Origin origin) {
        this.caller = caller;
        this.origin = origin;
    }

    public Caller get() {
        if (caller == null) { // every JAX-RS request passes the filter first
            throw new ServeException(Reason.MISSING_API_KEY, "no authenticated caller");
        }
        return caller;
    }

    /** Who is calling and from where, for the audit log; set with the caller. */
    public Origin origin() {
        get();
        return origin;
    }

    /** {@link Caller#requireTenant()} of this request's caller. */
    public String tenantId() {
        return get().requireTenant();
    }

    /** {@link Caller#requireAdmin()} of this request's caller. */
    public void requireAdmin() {
        get().requireAdmin();
    }

    /** {@link Caller#requireAdmin(String)} of this request's caller. */
    public void requireAdmin(String what) {
        get().requireAdmin(what);
    }
}
