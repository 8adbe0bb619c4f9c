package io.inctrl.serve.api.grpc;

import io.grpc.Status;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;
import org.jboss.logging.MDC;

/** Per-tenant request and error counters, and one structured log line per failed request. */
@ApplicationScoped
public class RequestMetrics {

    private static final Logger LOG = Logger.getLogger(RequestMetrics.class);

    @Inject
    MeterRegistry registry;

    void request(String tenant, String rpc) {
        Counter.builder("inctrl.requests").tag("tenant", tenant).tag("rpc", rpc).register(registry).increment();
    }

    void error(String tenant, String rpc, String requestId, Status status) {
        if (status.getCode() == Status.Code.CANCELLED) {
            Counter.builder("inctrl.requests.cancelled").tag("rpc", rpc).register(registry).increment();
            return;
        }
        Counter.builder("inctrl.request.errors").tag("tenant", tenant).tag("rpc", rpc)
                .tag("code", status.getCode().name()).register(registry).increment();
        MDC.put("request_id", requestId);
        MDC.put("tenant", tenant);
        try {
            LOG.infof("request %s of tenant %s failed: %s %s", requestId, tenant, status.getCode(),
                    status.getDescription());
        } finally {
            MDC.remove("request_id");
            MDC.remove("tenant");
        }
    }
}
