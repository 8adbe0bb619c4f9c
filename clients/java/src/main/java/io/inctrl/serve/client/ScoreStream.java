package io.inctrl.serve.client;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.inctrl.serve.api.v1.ScoreRequest;
import io.inctrl.serve.api.v1.ScoreResponse;
import io.inctrl.serve.api.v1.ScorerGrpc;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One ScoreStream call. {@code submit} blocks while {@code window} requests are unanswered (backpressure) and
 * returns a future completed by the response carrying the same request_id; responses may arrive in any order.
 * A per-request error completes that future exceptionally with a typed {@link InctrlException}; a broken stream
 * fails every in-flight future. Not replayed on failure.
 */
public final class ScoreStream implements AutoCloseable {
  private final int window;
  private final Prompts defaults;
  private final Semaphore slots;
  private final Map<String, CompletableFuture<ScoreResponse>> pending = new ConcurrentHashMap<>();
  private final List<ScoreResponse> unmatched = new CopyOnWriteArrayList<>();
  private final CountDownLatch done = new CountDownLatch(1);
  private final AtomicLong ids = new AtomicLong();
  private final StreamObserver<ScoreRequest> requests;
  private volatile InctrlException failure;
  private volatile boolean ended;
  private boolean halfClosed;

  ScoreStream(ScorerGrpc.ScorerStub stub, int window, Prompts defaults) {
    if (window < 1) {
      throw new IllegalArgumentException("window must be >= 1");
    }
    this.window = window;
    this.defaults = defaults;
    this.slots = new Semaphore(window);
    this.requests = stub.scoreStream(new StreamObserver<>() {
      @Override
      public void onNext(ScoreResponse r) {
        CompletableFuture<ScoreResponse> f = pending.remove(r.getRequestId());
        if (f == null) {
          unmatched.add(r);
          return;
        }
        slots.release();
        if (r.hasError()) {
          f.completeExceptionally(InctrlException.fromCodeName(r.getError().getCode(), r.getError().getMessage(), r.getRequestId()));
        } else {
          f.complete(r);
        }
      }

      @Override
      public void onError(Throwable t) {
        finish(InctrlException.from(t));
      }

      @Override
      public void onCompleted() {
        finish(null);
      }
    });
  }

  private void finish(InctrlException err) {
    synchronized (this) {
      if (ended) {
        return;
      }
      if (err == null && !pending.isEmpty()) {
        err = InctrlException.of(Status.Code.INTERNAL, "stream ended with " + pending.size() + " request(s) unanswered", "", null);
      }
      failure = err;
      ended = true;
    }
    for (String id : new ArrayList<>(pending.keySet())) {
      CompletableFuture<ScoreResponse> f = pending.remove(id);
      if (f != null) {
        slots.release();
        f.completeExceptionally(InctrlException.of(failure.code(), failure.details(), id, failure));
      }
    }
    done.countDown();
  }

  public int window() { return window; }
  public int inFlight() { return pending.size(); }
  /** Responses whose request_id was never sent (or was answered twice). */
  public List<ScoreResponse> unmatched() { return List.copyOf(unmatched); }
  /** The terminal stream error, or null. */
  public InctrlException failure() { return failure; }

  /** Sends {@code image} with the stream's default prompts; an empty id gets a generated one. */
  public CompletableFuture<ScoreResponse> submit(String requestId, byte[] image) {
    if (defaults == null) {
      throw new IllegalStateException("stream has no default prompts; use submit(ScoreRequest, Duration)");
    }
    return submit(defaults.request(requestId, image).build(), null);
  }

  /**
   * Sends a fully built request, waiting up to {@code maxWait} (null = forever) for a free slot in the window.
   * The future's request id is the request's, or a generated one when it was empty.
   */
  public CompletableFuture<ScoreResponse> submit(ScoreRequest request, Duration maxWait) {
    ScoreRequest req = request.getRequestId().isEmpty()
        ? request.toBuilder().setRequestId("r" + ids.incrementAndGet()).build() : request;
    String id = req.getRequestId();
    if (failure != null) {
      throw failure;
    }
    if (ended || halfClosed) {
      throw new IllegalStateException("stream is closed");
    }
    if (pending.containsKey(id)) {
      throw new IllegalArgumentException("request_id " + id + " is already in flight");
    }
    long limit = maxWait == null ? Long.MAX_VALUE : System.nanoTime() + maxWait.toNanos();
    try {
      // poll so a stream that breaks while we wait is noticed instead of blocking forever
      while (!slots.tryAcquire(50, TimeUnit.MILLISECONDS)) {
        if (ended) {
          throw failure != null ? failure : new IllegalStateException("stream is closed");
        }
        if (System.nanoTime() >= limit) {
          throw InctrlException.of(Status.Code.DEADLINE_EXCEEDED, "no free slot in the in-flight window (" + window + ") within " + maxWait, id, null);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw InctrlException.of(Status.Code.CANCELLED, "interrupted", id, e);
    }
    CompletableFuture<ScoreResponse> f = new CompletableFuture<>();
    synchronized (this) {
      if (ended) {
        slots.release();
        throw failure != null ? failure : new IllegalStateException("stream is closed");
      }
      if (pending.putIfAbsent(id, f) != null) { // registered before sending: the answer may come back at once
        slots.release();
        throw new IllegalArgumentException("request_id " + id + " is already in flight");
      }
      requests.onNext(req); // StreamObserver is not thread-safe; sends are serialised here
    }
    return f;
  }

  /** Half-closes and waits until every in-flight request is settled; throws the stream's error if it broke. */
  public void close(Duration max) {
    synchronized (this) {
      if (!halfClosed && !ended) {
        halfClosed = true;
        requests.onCompleted();
      }
    }
    try {
      if (!done.await(max.toNanos(), TimeUnit.NANOSECONDS)) {
        throw InctrlException.of(Status.Code.DEADLINE_EXCEEDED, "stream did not finish within " + max, "", null);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw InctrlException.of(Status.Code.CANCELLED, "interrupted", "", e);
    }
    if (failure != null && failure.code() != Status.Code.INTERNAL) {
      throw failure;
    }
  }

  @Override
  public void close() {
    close(Duration.ofMinutes(10));
  }

  /** Aborts the stream; in-flight futures fail with {@link InctrlException.Cancelled}. */
  public void cancel() {
    synchronized (this) {
      if (!ended) {
        requests.onError(Status.CANCELLED.withDescription("cancelled by client").asRuntimeException());
      }
    }
    finish(InctrlException.of(Status.Code.CANCELLED, "cancelled by client", "", null));
  }
}
