package io.inctrl.serve.api.rest;

import io.inctrl.serve.api.rest.Views.AuditEntryView;
import io.inctrl.serve.api.rest.Views.AuditPageView;
import io.inctrl.serve.audit.AuditAction;
import io.inctrl.serve.audit.AuditEntry;
import io.inctrl.serve.audit.AuditQuery;
import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.logging.LogSafe;
import io.inctrl.serve.registry.AuditTrail;
import io.inctrl.serve.security.Caller;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Base64;
import java.util.List;
import org.eclipse.microprofile.openapi.annotations.enums.SchemaType;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.parameters.Parameter;

/**
 * The audit log, newest first. The admin key reads every tenant's entries (optionally one tenant's); a tenant key
 * reads its own tenant's only, and sees the address and request id of its own keys' changes only.
 */
@Path("/v1/audit")
@Produces(MediaType.APPLICATION_JSON)
public class AuditResource {

    @Inject
    AuditTrail audit;

    @Inject
    CurrentCaller caller;

    @GET
    public AuditPageView list(
            @QueryParam("tenantId") @Parameter(description = "admin: one tenant's entries; tenant key: its own id only")
                    String tenantId,
            @QueryParam("action") @Parameter(description = "an action code, e.g. tenant.create or prompt_set.delete")
                    String action,
            @QueryParam("since")
                    @Parameter(
                            description = "ISO-8601 instant, inclusive",
                            schema = @Schema(type = SchemaType.STRING, format = "date-time"))
                    String since,
            @QueryParam("until")
                    @Parameter(
                            description = "ISO-8601 instant, exclusive",
                            schema = @Schema(type = SchemaType.STRING, format = "date-time"))
                    String until,
            @QueryParam("pageSize")
                    @Parameter(schema = @Schema(type = SchemaType.INTEGER, defaultValue = "100", maximum = "500"))
                    String pageSize,
            @QueryParam("pageToken") String pageToken) {
        Caller c = caller.get();
        String scope = scope(c, tenantId);
        String act = null;
        if (action != null && !action.isBlank()) {
            act = AuditAction.ofCode(action.strip())
                    .orElseThrow(() -> ServeException.invalid(
                            Reason.INVALID_PARAMETER, "unknown action '" + LogSafe.of(action, 40) + "'"))
                    .code;
        }
        AuditTrail.Page page = audit.list(new AuditQuery(
                scope,
                act,
                instant("since", since),
                instant("until", until),
                before(pageToken),
                PromptSetResource.parsePageSize(pageSize)));
        List<AuditEntry> items = page.items();
        String next = page.more() ? token(items.get(items.size() - 1).id()) : "";
        return new AuditPageView(items.stream().map(e -> view(c, e)).toList(), next);
    }

    /** The tenant whose entries the caller may read: null (all) for the admin. */
    private static String scope(Caller c, String requested) {
        String wanted = requested == null || requested.isBlank() ? null : requested.strip();
        if (c.admin()) { // the admin key, or anyone with security disabled
            return wanted;
        }
        String own = c.tenantId();
        if (wanted != null && !wanted.equals(own)) {
            throw new ServeException(Reason.OTHER_TENANT, "a tenant key reads its own tenant's audit entries only");
        }
        return own;
    }

    /** A tenant sees the origin (address, request id) of its own keys' changes, not the admin's. */
    private static AuditEntryView view(Caller c, AuditEntry e) {
        boolean ownOrigin = c.admin() || c.tenantId().equals(e.origin().actorTenantId());
        return AuditEntryView.of(e, ownOrigin);
    }

    private static Instant instant(String name, String value) {
        if (value == null || value.isBlank()) {
            return null;
        }
        try {
            return Instant.parse(value.strip());
        } catch (DateTimeParseException e) {
            throw ServeException.invalid(
                    Reason.INVALID_PARAMETER,
                    name + " must be an ISO-8601 instant such as 2026-01-31T12:00:00Z, not '" + LogSafe.of(value, 40)
                            + "'");
        }
    }

    private static String token(long id) {
        return Base64.getUrlEncoder()
                .withoutPadding()
                .encodeToString(Long.toString(id).getBytes(StandardCharsets.US_ASCII));
    }

    private static Long before(String token) {
        if (token == null || token.isBlank()) {
            return null;
        }
        try {
            return Long.parseLong(new String(Base64.getUrlDecoder().decode(token.strip()), StandardCharsets.US_ASCII));
        } catch (IllegalArgumentException e) {
            throw ServeException.invalid(Reason.INVALID_PAGE_TOKEN, "pageToken is not one this server issued");
        }
    }
}
