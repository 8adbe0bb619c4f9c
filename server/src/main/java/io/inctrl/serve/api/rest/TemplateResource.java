package io.inctrl.serve.api.rest;

import io.inctrl.serve.api.rest.Views.TemplateRequest;
import io.inctrl.serve.api.rest.Views.TemplateView;
import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.registry.TemplateService;
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
import java.util.ArrayList;
import java.util.List;

/**
 * The tenant's text-prompt template sets. Id {@code default} is the built-in official set (read-only); prompt sets
 * registered without a template id use it.
 */
@Path("/v1/templates")
@Produces(MediaType.APPLICATION_JSON)
public class TemplateResource {

    @Inject
    TemplateService templates;

    @Inject
    CurrentCaller caller;

    /** The built-in set first, then the tenant's own. */
    @GET
    public List<TemplateView> list() {
        List<TemplateView> out = new ArrayList<>();
        out.add(TemplateView.of(templates.builtIn()));
        templates.list(caller.tenantId()).forEach(t -> out.add(TemplateView.of(t)));
        return out;
    }

    @GET
    @Path("/{id}")
    public TemplateView get(@PathParam("id") String id) {
        return TemplateView.of(templates.get(caller.tenantId(), id));
    }

    @POST
    public Response create(TemplateRequest r) {
        String tenant = caller.tenantId();
        require(r);
        return Response.status(201)
                .entity(TemplateView.of(templates.create(
                        caller.origin(), tenant, r.name(), r.normalStates(), r.anomalousStates(), r.templates())))
                .build();
    }

    /** Replaces the set; its version increases, so text priors are recomputed on next use. */
    @PUT
    @Path("/{id}")
    public TemplateView update(@PathParam("id") String id, TemplateRequest r) {
        String tenant = caller.tenantId();
        require(r);
        return TemplateView.of(templates.update(
                caller.origin(), tenant, id, r.name(), r.normalStates(), r.anomalousStates(), r.templates()));
    }

    /** 409 while prompt sets use the template set. */
    @DELETE
    @Path("/{id}")
    public Response delete(@PathParam("id") String id) {
        templates.delete(caller.origin(), caller.tenantId(), id);
        return Response.noContent().build();
    }

    private static void require(TemplateRequest r) {
        if (r == null) {
            throw ServeException.invalid(
                    Reason.MISSING_BODY, "a JSON body {name, normalStates, anomalousStates, templates} is required");
        }
    }
}
