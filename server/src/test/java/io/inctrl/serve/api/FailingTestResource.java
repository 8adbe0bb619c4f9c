package io.inctrl.serve.api;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;

/** Test-only endpoint (not in the product): fails the way a bug or an outage would, with secrets in its message. */
@Path("/v1/test-only/fail")
public class FailingTestResource {

    static final String SECRET = "jdbc:postgresql://db-host.internal:5432/inctrl password=hunter2";

    @GET
    public String fail() {
        throw new IllegalStateException("cannot reach " + SECRET);
    }
}
