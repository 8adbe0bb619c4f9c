package io.inctrl.serve.api.grpc;

import io.grpc.Status;
import io.inctrl.serve.logging.LogSafe;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;
import org.jboss.logging.MDC;

/**
 * Per-tenant request and error counters, and one structured log line per failed request. Request ids and status
 * descriptions come from clients: they pass through {@link LogSafe} before reaching the log or the MDC.
 */
@ApplicationScoped
public class RequestMetrics {

    private static final Logger LOG = Logger.getLogger(RequestMetrics.class);
    /** Status descriptions may quote client text (categories, template strings) next to our own explanation. */
    private static final int MAX_DESCRIPTION_CHARS = 512;

    @Inject
    MeterRegistry registry;

    public void request(String tenant, String rpc) {
        Counter.builder("inctrl.requests")
                .tag("tenant", LogSafe.of(tenant))
                .tag("rpc", rpc)
                .register(registry)
                .increment();
    }

    public void error(String tenant, String rpc, String requestId, Status status) {
        if (status.getCode() == Status.Code.CANCELLED) {
            Counter.builder("inctrl.requests.cancelled")
                    .tag("rpc", rpc)
                    .register(registry)
                    .increment();
            return;
        }
        String safeTenant = LogSafe.of(tenant);
        String safeId = LogSafe.of(requestId);
        Counter.builder("inctrl.request.errors")
                .tag("tenant", safeTenant)
                .tag("rpc", rpc)
                .tag("code", status.getCode().name())
                .register(registry)
                .increment();
        MDC.put("request_id", safeId);
        MDC.put("tenant", safeTenant);
        try {
            LOG.infof(
                    "request %s of tenant %s failed: %s %s",
                    safeId, safeTenant, status.getCode(), LogSafe.of(status.getDescription(), MAX_DESCRIPTION_CHARS));
        } finally {
            MDC.remove("request_id");
            MDC.remove("tenant");
        }
    }
}
