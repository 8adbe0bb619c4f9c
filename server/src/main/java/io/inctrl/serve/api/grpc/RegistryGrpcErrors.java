package io.inctrl.serve.api.grpc;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.inctrl.serve.logging.InternalErrors;
import io.inctrl.serve.registry.RegistryException;

/**
 * Maps registry errors one-to-one onto gRPC status codes (same kinds as the REST problem statuses); anything else
 * is INTERNAL with an error id, its details only in the server log.
 */
public final class RegistryGrpcErrors {

    private RegistryGrpcErrors() {
    }

    public static Throwable toStatus(Throwable t) {
        if (t instanceof StatusRuntimeException) {
            return t;
        }
        if (t instanceof RegistryException e) {
            Status s = switch (e.kind()) {
                case INVALID_ARGUMENT -> Status.INVALID_ARGUMENT;
                case UNAUTHENTICATED -> Status.UNAUTHENTICATED;
                case PERMISSION_DENIED -> Status.PERMISSION_DENIED;
                case NOT_FOUND -> Status.NOT_FOUND;
                case ALREADY_EXISTS -> Status.ALREADY_EXISTS;
                case FAILED_PRECONDITION -> Status.FAILED_PRECONDITION;
                case RESOURCE_EXHAUSTED -> Status.RESOURCE_EXHAUSTED;
                case UNAVAILABLE -> Status.UNAVAILABLE;
            };
            return s.withDescription(e.getMessage()).asRuntimeException();
        }
        String errorId = InternalErrors.log("registry call failed", t);
        return Status.INTERNAL.withDescription(InternalErrors.clientMessage(errorId)).asRuntimeException();
    }
}
