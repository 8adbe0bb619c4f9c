package io.inctrl.serve.api.grpc;

import io.grpc.Attributes;
import io.grpc.BinaryLog;
import io.grpc.Channel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.SecurityLevel;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.logging.LogSafe;
import java.io.InputStream;
import org.jboss.logging.Logger;

/**
 * Parses every gRPC request message itself, so that a message that is not valid protobuf answers INVALID_ARGUMENT
 * ({@link Reason#MALFORMED_MESSAGE}) and one that decompresses past {@code max-inbound-message-size} (a gzip bomb)
 * answers RESOURCE_EXHAUSTED ({@link Reason#PAYLOAD_TOO_LARGE}), each with one short log line, instead of grpc-java's
 * UNKNOWN "Application error processing RPC" and a SEVERE stack trace per message.
 * <p>
 * grpc-java parses a request before any interceptor sees it, and a parse failure escapes to its executor. The one
 * hook that wraps every method at the transport edge is {@link BinaryLog#wrapMethodDefinition} (installed by
 * {@link MessageGuardInstaller}; nothing is logged in binary form): the method is served with a pass-through request
 * marshaller and the real one runs here. A malformed message ends its call, not only itself: the messages before it
 * are answered (the handler sees a half-close and finishes what it pulled, e.g. a ScoreStream answers its window), the
 * ones after it are dropped, and the call's final status becomes the refusal. A junk message has no readable
 * request_id, so it cannot be answered on its own.
 */
final class MessageGuard extends BinaryLog {

    private static final Logger LOG = Logger.getLogger(MessageGuard.class);

    /** Hands the transport's stream through; {@link GuardedCall} parses it with the method's own marshaller. */
    private static final MethodDescriptor.Marshaller<InputStream> RAW = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(InputStream value) {
            return value;
        }

        @Override
        public InputStream parse(InputStream stream) {
            return stream;
        }
    };

    @Override
    public <Q, R> ServerMethodDefinition<?, ?> wrapMethodDefinition(ServerMethodDefinition<Q, R> definition) {
        MethodDescriptor<Q, R> method = definition.getMethodDescriptor();
        MethodDescriptor<InputStream, R> raw =
                method.toBuilder(RAW, method.getResponseMarshaller()).build();
        ServerCallHandler<Q, R> handler = definition.getServerCallHandler();
        return ServerMethodDefinition.create(
                raw, (call, headers) -> new GuardedCall<>(call, method).start(handler, headers));
    }

    @Override
    public Channel wrapChannel(Channel channel) {
        return channel;
    }

    @Override
    public void close() {}

    /** The call as the handler sees it (typed messages), and the listener the transport calls (raw messages). */
    private static final class GuardedCall<Q, R> extends ServerCall<Q, R> {

        private final ServerCall<InputStream, R> transport;
        private final MethodDescriptor<Q, R> method;
        private volatile ServeException refused;
        private boolean halfClosed; // guarded by this: the handler has seen a half-close (the client's or ours)

        GuardedCall(ServerCall<InputStream, R> transport, MethodDescriptor<Q, R> method) {
            this.transport = transport;
            this.method = method;
        }

        ServerCall.Listener<InputStream> start(ServerCallHandler<Q, R> handler, Metadata headers) {
            ServerCall.Listener<Q> inner = handler.startCall(this, headers);
            return new ServerCall.Listener<>() {
                @Override
                public void onMessage(InputStream message) {
                    if (refused != null) {
                        return; // after a malformed message the call is ending: the rest is dropped
                    }
                    Q parsed;
                    try {
                        parsed = method.parseRequest(message);
                    } catch (RuntimeException e) {
                        refuse(e, inner);
                        return;
                    }
                    inner.onMessage(parsed);
                }

                @Override
                public void onHalfClose() {
                    if (firstHalfClose()) {
                        inner.onHalfClose();
                    }
                }

                @Override
                public void onCancel() {
                    inner.onCancel();
                }

                @Override
                public void onComplete() {
                    inner.onComplete();
                }

                @Override
                public void onReady() {
                    inner.onReady();
                }
            };
        }

        private synchronized boolean firstHalfClose() {
            boolean first = !halfClosed;
            halfClosed = true;
            return first;
        }

        private void refuse(RuntimeException e, ServerCall.Listener<Q> inner) {
            StatusRuntimeException tooLarge = sizeLimit(e);
            ServeException refusal = tooLarge != null
                    ? new ServeException(
                            Reason.PAYLOAD_TOO_LARGE,
                            "the request message is larger than the server accepts once decompressed ("
                                    + LogSafe.of(tooLarge.getStatus().getDescription(), 160) + ")")
                    : new ServeException(
                            Reason.MALFORMED_MESSAGE,
                            "the request message is not a valid "
                                    + method.getFullMethodName() + " request: "
                                    + LogSafe.of(rootMessage(e), 160));
            refused = refusal;
            LOG.infof(
                    "%s from %s refused: %s %s",
                    method.getFullMethodName(),
                    ApiKeyInterceptor.peerAddress(transport),
                    refusal.reason(),
                    refusal.getMessage());
            // the handler finishes what it already took (a stream answers its window), then closes: see close()
            if (firstHalfClose()) {
                inner.onHalfClose();
            }
        }

        /** grpc-java's size check on the decompressed stream throws RESOURCE_EXHAUSTED while the parser reads. */
        private static StatusRuntimeException sizeLimit(Throwable e) {
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof StatusRuntimeException s
                        && s.getStatus().getCode() == Status.Code.RESOURCE_EXHAUSTED) {
                    return s;
                }
            }
            return null;
        }

        private static String rootMessage(Throwable e) {
            Throwable t = e;
            while (t.getCause() != null && t.getCause() != t) {
                t = t.getCause();
            }
            return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        }

        @Override
        public void close(Status status, Metadata trailers) {
            ServeException r = refused;
            // a handler ending normally (or complaining of the missing request) after our half-close: the call's
            // real outcome is the refusal; a refusal of its own (UNAUTHENTICATED, UNAVAILABLE while draining) wins
            if (r != null
                    && (status.isOk()
                            || status.getCode() == Status.Code.INTERNAL
                            || status.getCode() == Status.Code.UNKNOWN)) {
                StatusRuntimeException s = GrpcStatuses.toStatus(r);
                transport.close(s.getStatus(), s.getTrailers() == null ? new Metadata() : s.getTrailers());
                return;
            }
            transport.close(status, trailers);
        }

        @Override
        public void request(int numMessages) {
            transport.request(numMessages);
        }

        @Override
        public void sendHeaders(Metadata headers) {
            transport.sendHeaders(headers);
        }

        @Override
        public void sendMessage(R message) {
            transport.sendMessage(message);
        }

        @Override
        public boolean isReady() {
            return transport.isReady();
        }

        @Override
        public boolean isCancelled() {
            return transport.isCancelled();
        }

        @Override
        public void setMessageCompression(boolean enabled) {
            transport.setMessageCompression(enabled);
        }

        @Override
        public void setCompression(String compressor) {
            transport.setCompression(compressor);
        }

        @Override
        public void setOnReadyThreshold(int numBytes) {
            transport.setOnReadyThreshold(numBytes);
        }

        @Override
        public SecurityLevel getSecurityLevel() {
            return transport.getSecurityLevel();
        }

        @Override
        public Attributes getAttributes() {
            return transport.getAttributes();
        }

        @Override
        public String getAuthority() {
            return transport.getAuthority();
        }

        @Override
        public MethodDescriptor<Q, R> getMethodDescriptor() {
            return method;
        }
    }
}
