package io.inctrl.serve.api.rest;

import io.inctrl.serve.security.Caller;
import io.micrometer.prometheus.PrometheusMeterRegistry;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import java.util.stream.Collectors;

/**
 * The Prometheus scrape for the console's live view, on the public port but behind a key: the admin sees every
 * series, a tenant the server-wide ones plus its own. Unauthenticated scrapes go to the management interface
 * (/q/metrics on its own port), which the public Service does not expose.
 */
@Path("/v1/metrics")
public class MetricsResource {

    @Inject
    PrometheusMeterRegistry prometheus;

    @Inject
    CurrentCaller caller;

    @GET
    @Produces("text/plain; version=0.0.4; charset=utf-8")
    public String scrape() {
        Caller c = caller.get();
        String text = prometheus.scrape();
        if (c != null && c.admin()) {
            return text;
        }
        String own = "tenant=\"" + caller.tenantId() + "\"";
        return text.lines()
                .filter(l -> !l.contains("tenant=\"") || l.contains(own))
                .collect(Collectors.joining("\n", "", "\n"));
    }
}
