package io.inctrl.serve.api.rest;

import io.inctrl.serve.api.rest.Views.IssuedKeyView;
import io.inctrl.serve.api.rest.Views.KeyView;
import io.inctrl.serve.security.TenantService;
import jakarta.inject.Inject;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.List;

/** A tenant's own API keys (create, rotate, revoke); another tenant's key id reads as not found. */
@Path("/v1/keys")
@Produces(MediaType.APPLICATION_JSON)
public class KeyResource {

    @Inject
    TenantService tenants;

    @Inject
    CurrentCaller caller;

    @GET
    public List<KeyView> list() {
        return tenants.keys(caller.tenantId()).stream().map(KeyView::of).toList();
    }

    /** Issues a new key; its secret is in this response only. */
    @POST
    public Response create() {
        return Response.status(201)
                .entity(IssuedKeyView.of(tenants.createKey(caller.origin(), caller.tenantId())))
                .build();
    }

    /** Revokes the key and issues its replacement atomically. */
    @POST
    @Path("/{keyId}/rotate")
    public Response rotate(@PathParam("keyId") String keyId) {
        return Response.status(201)
                .entity(IssuedKeyView.of(tenants.rotateKey(caller.origin(), caller.tenantId(), keyId)))
                .build();
    }

    @DELETE
    @Path("/{keyId}")
    public Response revoke(@PathParam("keyId") String keyId) {
        tenants.revokeKey(caller.origin(), caller.tenantId(), keyId);
        return Response.noContent().build();
    }
}
