package io.inctrl.serve.registry;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.inctrl.serve.api.rest.Views.TemplateRequest;
import io.inctrl.serve.error.ServeException;
import java.nio.charset.StandardCharsets;

/**
 * Any bytes a client posts as a template set (the body that once expanded into 2,000,000 sentences and ran the heap
 * out) are either a JSON error, a typed INVALID_ARGUMENT, or a template set whose every sentence was checked within
 * the configured bounds. Anything else is a crash. CI fuzzes it for a bounded time (surefire execution fuzz-templates).
 */
class TemplateRequestFuzzTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final TemplateService TEMPLATES = templates();

    private static TemplateService templates() {
        TemplateService s = new TemplateService();
        s.config = TestRegistry.config(1 << 20);
        s.model = new FakeModelPort();
        return s;
    }

    @FuzzTest(maxDuration = "60s")
    void parseAndCheckAnyTemplateBody(byte[] body) {
        TemplateRequest r;
        try {
            r = JSON.readValue(new String(body, StandardCharsets.UTF_8), TemplateRequest.class);
        } catch (JsonProcessingException expected) {
            return; // a 400 problem (MALFORMED_BODY)
        }
        if (r == null) {
            return;
        }
        try {
            var t = TEMPLATES.validate(r.normalStates(), r.anomalousStates(), r.templates());
            TEMPLATES.checkSentences(t, r.name() == null ? "object" : r.name());
        } catch (ServeException e) {
            if (e.code() != ServeException.Code.INVALID_ARGUMENT) {
                throw e;
            }
        }
    }
}
