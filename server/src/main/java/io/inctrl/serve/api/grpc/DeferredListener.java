package io.inctrl.serve.api.grpc;

import io.grpc.ServerCall;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * A call listener that holds the transport's events until the real listener exists, then replays them in order.
 * Lets the API-key interceptor authenticate on a worker thread (the lookup may hit the store) instead of blocking
 * the transport's event loop; grpc-java offers no such helper for servers.
 */
final class DeferredListener<Q> extends ServerCall.Listener<Q> {

    private ServerCall.Listener<Q> delegate; // guarded by this
    private List<Consumer<ServerCall.Listener<Q>>> pending = new ArrayList<>(); // guarded by this; null once dropped

    /** Replays what arrived so far, then lets later events through directly. */
    void start(ServerCall.Listener<Q> listener) {
        while (true) {
            List<Consumer<ServerCall.Listener<Q>>> batch;
            synchronized (this) {
                if (pending == null) {
                    return;
                }
                if (pending.isEmpty()) {
                    delegate = listener;
                    pending = null;
                    return;
                }
                batch = pending;
                pending = new ArrayList<>();
            }
            batch.forEach(e -> e.accept(listener));
        }
    }

    /** The call was refused: whatever arrives is discarded. */
    synchronized void drop() {
        pending = null;
    }

    private void deliver(Consumer<ServerCall.Listener<Q>> event) {
        ServerCall.Listener<Q> d;
        synchronized (this) {
            if (delegate == null) {
                if (pending != null) {
                    pending.add(event);
                }
                return;
            }
            d = delegate;
        }
        event.accept(d);
    }

    @Override
    public void onMessage(Q message) {
        deliver(l -> l.onMessage(message));
    }

    @Override
    public void onHalfClose() {
        deliver(ServerCall.Listener::onHalfClose);
    }

    @Override
    public void onCancel() {
        deliver(ServerCall.Listener::onCancel);
    }

    @Override
    public void onComplete() {
        deliver(ServerCall.Listener::onComplete);
    }

    @Override
    public void onReady() {
        deliver(ServerCall.Listener::onReady);
    }
}
