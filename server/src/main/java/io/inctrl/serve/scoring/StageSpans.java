package io.inctrl.serve.scoring;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.concurrent.TimeUnit;

/**
 * OpenTelemetry spans for one scored request: a {@code score-request} span under the caller's trace with one child
 * per stage (decode, preprocess, queue, batch with encode and score). Stage times are measured by the pipeline
 * (the batch is shared by several requests), so spans are laid out from those durations, ending when the request
 * ended. A no-op unless tracing is switched on (quarkus.otel.sdk.disabled=false).
 */
@ApplicationScoped
public class StageSpans {

    @Inject
    Tracer tracer;

    /** Records the spans of a finished request; {@code parent} is the context current when it arrived. */
    void record(Context parent, ScoreResult r, int batchSize, String device) {
        long end = TimeUnit.MILLISECONDS.toNanos(System.currentTimeMillis());
        long start = end - r.totalNanos();
        Span root = tracer.spanBuilder("score-request")
                .setParent(parent)
                .setSpanKind(SpanKind.INTERNAL)
                .setStartTimestamp(start, TimeUnit.NANOSECONDS)
                .setAttribute("inctrl.request_id", r.requestId() == null ? "" : r.requestId())
                .setAttribute("inctrl.bundle_id", r.bundleId())
                .startSpan();
        Context ctx = parent.with(root);
        long t = start;
        t = child(ctx, "decode", t, r.decodeNanos());
        child(ctx, "preprocess", t, r.preprocessNanos());
        long batchEnd = end;
        long batchStart = batchEnd - r.encodeNanos() - r.scoreNanos();
        child(ctx, "queue", batchStart - r.queueNanos(), r.queueNanos());
        Span batch = tracer.spanBuilder("batch")
                .setParent(ctx)
                .setStartTimestamp(batchStart, TimeUnit.NANOSECONDS)
                .setAttribute("inctrl.batch_size", batchSize)
                .setAttribute("inctrl.device", device)
                .startSpan();
        Context batchCtx = ctx.with(batch);
        long s = child(batchCtx, "encode", batchStart, r.encodeNanos());
        child(batchCtx, "score", s, r.scoreNanos());
        batch.end(batchEnd, TimeUnit.NANOSECONDS);
        root.end(end, TimeUnit.NANOSECONDS);
    }

    private long child(Context parent, String name, long start, long duration) {
        tracer.spanBuilder(name)
                .setParent(parent)
                .setStartTimestamp(start, TimeUnit.NANOSECONDS)
                .startSpan()
                .end(start + duration, TimeUnit.NANOSECONDS);
        return start + duration;
    }
}
