package io.inctrl.serve.api.rest;

import io.inctrl.serve.api.rest.Views.CreatedTenantView;
import io.inctrl.serve.api.rest.Views.IssuedKeyView;
import io.inctrl.serve.api.rest.Views.KeyView;
import io.inctrl.serve.api.rest.Views.QuotasView;
import io.inctrl.serve.api.rest.Views.TenantRequest;
import io.inctrl.serve.api.rest.Views.TenantView;
import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.security.TenantService;
import jakarta.inject.Inject;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.List;

/** Tenant management; every call needs the admin key ({@code inctrl.security.admin-key}) in X-API-Key. */
@Path("/v1/admin/tenants")
@Produces(MediaType.APPLICATION_JSON)
public class TenantAdminResource {

    @Inject
    TenantService tenants;

    @Inject
    CurrentCaller caller;

    /** Creates a tenant and its first API key; the key is returned once, here. */
    @POST
    public Response create(TenantRequest req) {
        caller.requireAdmin();
        if (req == null) {
            throw ServeException.invalid(Reason.MISSING_BODY, "a JSON body {name, quotas?} is required");
        }
        var created = tenants.create(
                caller.origin(),
                req.name(),
                req.quotas() == null ? null : req.quotas().toQuotas());
        return Response.status(201)
                .entity(new CreatedTenantView(TenantView.of(created.tenant()), IssuedKeyView.of(created.key())))
                .build();
    }

    @GET
    public List<TenantView> list() {
        caller.requireAdmin();
        return tenants.list().stream().map(TenantView::of).toList();
    }

    @GET
    @Path("/{id}")
    public TenantView get(@PathParam("id") String id) {
        caller.requireAdmin();
        return TenantView.of(tenants.get(id));
    }

    @PUT
    @Path("/{id}/quotas")
    public TenantView quotas(@PathParam("id") String id, QuotasView q) {
        caller.requireAdmin();
        if (q == null) {
            throw ServeException.invalid(Reason.MISSING_BODY, "a JSON body with the quotas is required");
        }
        return TenantView.of(tenants.updateQuotas(caller.origin(), id, q.toQuotas()));
    }

    /** Deletes the tenant with all its keys, templates and prompt sets. */
    @DELETE
    @Path("/{id}")
    public Response delete(@PathParam("id") String id) {
        caller.requireAdmin();
        tenants.delete(caller.origin(), id);
        return Response.noContent().build();
    }

    @GET
    @Path("/{id}/keys")
    public List<KeyView> keys(@PathParam("id") String id) {
        caller.requireAdmin();
        return tenants.keys(id).stream().map(KeyView::of).toList();
    }

    /** Issues an additional key for the tenant (shown once). */
    @POST
    @Path("/{id}/keys")
    public Response createKey(@PathParam("id") String id) {
        caller.requireAdmin();
        return Response.status(201)
                .entity(IssuedKeyView.of(tenants.createKey(caller.origin(), id)))
                .build();
    }

    @POST
    @Path("/{id}/keys/{keyId}/rotate")
    public Response rotateKey(@PathParam("id") String id, @PathParam("keyId") String keyId) {
        caller.requireAdmin();
        return Response.status(201)
                .entity(IssuedKeyView.of(tenants.rotateKey(caller.origin(), id, keyId)))
                .build();
    }

    @DELETE
    @Path("/{id}/keys/{keyId}")
    public Response revokeKey(@PathParam("id") String id, @PathParam("keyId") String keyId) {
        caller.requireAdmin();
        tenants.revokeKey(caller.origin(), id, keyId);
        return Response.noContent().build();
    }
}
