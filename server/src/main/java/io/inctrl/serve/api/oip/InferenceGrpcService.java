package io.inctrl.serve.api.oip;

import com.google.protobuf.ByteString;
import io.grpc.Context;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.inctrl.serve.api.grpc.AsyncUnaryCalls;
import io.inctrl.serve.api.grpc.GrpcCaller;
import io.inctrl.serve.api.grpc.GrpcStatuses;
import io.inctrl.serve.api.grpc.RequestMetrics;
import io.inctrl.serve.api.inference.GRPCInferenceServiceGrpc;
import io.inctrl.serve.api.inference.InferParameter;
import io.inctrl.serve.api.inference.ModelConfigRequest;
import io.inctrl.serve.api.inference.ModelConfigResponse;
import io.inctrl.serve.api.inference.ModelInferRequest;
import io.inctrl.serve.api.inference.ModelInferResponse;
import io.inctrl.serve.api.inference.ModelMetadataRequest;
import io.inctrl.serve.api.inference.ModelMetadataResponse;
import io.inctrl.serve.api.inference.ModelReadyRequest;
import io.inctrl.serve.api.inference.ModelReadyResponse;
import io.inctrl.serve.api.inference.ModelStatisticsRequest;
import io.inctrl.serve.api.inference.ModelStatisticsResponse;
import io.inctrl.serve.api.inference.RepositoryIndexRequest;
import io.inctrl.serve.api.inference.RepositoryIndexResponse;
import io.inctrl.serve.api.inference.RepositoryModelLoadRequest;
import io.inctrl.serve.api.inference.RepositoryModelLoadResponse;
import io.inctrl.serve.api.inference.RepositoryModelUnloadRequest;
import io.inctrl.serve.api.inference.RepositoryModelUnloadResponse;
import io.inctrl.serve.api.inference.ServerLiveRequest;
import io.inctrl.serve.api.inference.ServerLiveResponse;
import io.inctrl.serve.api.inference.ServerMetadataRequest;
import io.inctrl.serve.api.inference.ServerMetadataResponse;
import io.inctrl.serve.api.inference.ServerReadyRequest;
import io.inctrl.serve.api.inference.ServerReadyResponse;
import io.inctrl.serve.audit.Origin;
import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.lifecycle.FatalErrors;
import io.inctrl.serve.logging.LogSafe;
import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import jakarta.inject.Inject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * gRPC front of the Open Inference Protocol ({@code inference.GRPCInferenceService}) on the same server and
 * interceptors (drain, API key) as {@code inctrl.v1.Scorer}. ServerLive, ServerReady and ServerMetadata need no key
 * (see {@code PublicServices}); ModelReady, ModelMetadata, ModelConfig, ModelStatistics and RepositoryIndex any valid
 * key; RepositoryModelLoad and RepositoryModelUnload the admin key; ModelInfer a tenant key. Outputs travel in
 * {@code raw_output_contents}, as Triton sends them.
 */
@GrpcService
public class InferenceGrpcService extends GRPCInferenceServiceGrpc.GRPCInferenceServiceImplBase {

    @Inject
    OipInference inference;

    @Inject
    OipModel model;

    @Inject
    OipServer server;

    @Inject
    FatalErrors fatalErrors;

    @Inject
    RequestMetrics metrics;

    @Inject
    OipExtensions extensions;

    private final Executor executor = Infrastructure.getDefaultWorkerPool();

    @Override
    public void serverLive(ServerLiveRequest request, StreamObserver<ServerLiveResponse> responses) {
        responses.onNext(ServerLiveResponse.newBuilder()
                .setLive(fatalErrors.first() == null)
                .build());
        responses.onCompleted();
    }

    @Override
    public void serverReady(ServerReadyRequest request, StreamObserver<ServerReadyResponse> responses) {
        responses.onNext(
                ServerReadyResponse.newBuilder().setReady(model.ready()).build());
        responses.onCompleted();
    }

    @Override
    public void serverMetadata(ServerMetadataRequest request, StreamObserver<ServerMetadataResponse> responses) {
        responses.onNext(ServerMetadataResponse.newBuilder()
                .setName(server.name())
                .setVersion(server.version())
                .addAllExtensions(server.extensions())
                .build());
        responses.onCompleted();
    }

    @Override
    public void modelReady(ModelReadyRequest request, StreamObserver<ModelReadyResponse> responses) {
        try {
            GrpcCaller.current();
            model.choice(request.getName(), request.getVersion());
        } catch (RuntimeException e) {
            responses.onError(GrpcStatuses.toStatus(e, "ModelReady"));
            return;
        }
        responses.onNext(ModelReadyResponse.newBuilder().setReady(model.ready()).build());
        responses.onCompleted();
    }

    @Override
    public void modelMetadata(ModelMetadataRequest request, StreamObserver<ModelMetadataResponse> responses) {
        io.inctrl.serve.models.LoadedModel m;
        try {
            GrpcCaller.current();
            m = model.resolve(request.getName(), request.getVersion());
        } catch (RuntimeException e) {
            responses.onError(GrpcStatuses.toStatus(e, "ModelMetadata"));
            return;
        }
        ModelMetadataResponse.Builder b = ModelMetadataResponse.newBuilder()
                .setName(m.name())
                .addAllVersions(model.versions(m.name()))
                .setPlatform(OipModel.platform(m));
        model.inputs().forEach(t -> b.addInputs(tensor(t)));
        OipModel.outputs(m).forEach(t -> b.addOutputs(tensor(t)));
        responses.onNext(b.build());
        responses.onCompleted();
    }

    @Override
    public void modelConfig(ModelConfigRequest request, StreamObserver<ModelConfigResponse> responses) {
        ModelConfigResponse r;
        try {
            GrpcCaller.current();
            r = ModelConfigResponse.newBuilder()
                    .setConfig(extensions.config(request.getName(), request.getVersion()))
                    .build();
        } catch (RuntimeException e) {
            responses.onError(GrpcStatuses.toStatus(e, "ModelConfig"));
            return;
        }
        responses.onNext(r);
        responses.onCompleted();
    }

    @Override
    public void modelStatistics(ModelStatisticsRequest request, StreamObserver<ModelStatisticsResponse> responses) {
        ModelStatisticsResponse r;
        try {
            GrpcCaller.current();
            r = ModelStatisticsResponse.newBuilder()
                    .addAllModelStats(extensions.statistics(request.getName(), request.getVersion()))
                    .build();
        } catch (RuntimeException e) {
            responses.onError(GrpcStatuses.toStatus(e, "ModelStatistics"));
            return;
        }
        responses.onNext(r);
        responses.onCompleted();
    }

    @Override
    public void repositoryIndex(RepositoryIndexRequest request, StreamObserver<RepositoryIndexResponse> responses) {
        RepositoryIndexResponse.Builder b = RepositoryIndexResponse.newBuilder();
        try {
            GrpcCaller.current();
            for (OipExtensions.IndexEntry e : extensions.index(request.getReady())) {
                b.addModels(RepositoryIndexResponse.ModelIndex.newBuilder()
                        .setName(e.name())
                        .setVersion(e.version())
                        .setState(e.state())
                        .setReason(e.reason()));
            }
        } catch (RuntimeException e) {
            responses.onError(GrpcStatuses.toStatus(e, "RepositoryIndex"));
            return;
        }
        responses.onNext(b.build());
        responses.onCompleted();
    }

    /** Loading takes seconds (weights, warm-up): it runs on a worker, never on the event loop. */
    @Override
    public void repositoryModelLoad(
            RepositoryModelLoadRequest request, StreamObserver<RepositoryModelLoadResponse> responses) {
        Origin origin;
        try {
            GrpcCaller.current().requireAdmin("loading a model");
            origin = GrpcCaller.origin();
        } catch (RuntimeException e) {
            responses.onError(GrpcStatuses.toStatus(e, "RepositoryModelLoad"));
            return;
        }
        executor.execute(() -> {
            try {
                extensions.load(
                        origin,
                        request.getModelName(),
                        request.getParametersMap().keySet());
            } catch (RuntimeException e) {
                responses.onError(GrpcStatuses.toStatus(e, "RepositoryModelLoad"));
                return;
            }
            responses.onNext(RepositoryModelLoadResponse.getDefaultInstance());
            responses.onCompleted();
        });
    }

    /** Unloading waits for the version's queued work: on a worker as well. */
    @Override
    public void repositoryModelUnload(
            RepositoryModelUnloadRequest request, StreamObserver<RepositoryModelUnloadResponse> responses) {
        Origin origin;
        try {
            GrpcCaller.current().requireAdmin("unloading a model");
            origin = GrpcCaller.origin();
        } catch (RuntimeException e) {
            responses.onError(GrpcStatuses.toStatus(e, "RepositoryModelUnload"));
            return;
        }
        executor.execute(() -> {
            try {
                extensions.unload(origin, request.getModelName());
            } catch (RuntimeException e) {
                responses.onError(GrpcStatuses.toStatus(e, "RepositoryModelUnload"));
                return;
            }
            responses.onNext(RepositoryModelUnloadResponse.getDefaultInstance());
            responses.onCompleted();
        });
    }

    @Override
    public void modelInfer(ModelInferRequest request, StreamObserver<ModelInferResponse> responses) {
        ServerCallStreamObserver<ModelInferResponse> out = (ServerCallStreamObserver<ModelInferResponse>) responses;
        String tenant;
        try {
            tenant = GrpcCaller.current().requireTenant();
        } catch (RuntimeException e) {
            out.onError(GrpcStatuses.toStatus(e, "ModelInfer"));
            return;
        }
        metrics.request(tenant, "ModelInfer");
        Instant deadline = deadline(Context.current());
        AsyncUnaryCalls.run(
                out,
                executor,
                () -> inference.infer(command(request), tenant, deadline),
                (result, error) -> reply(out, result, error, request, tenant));
    }

    private void reply(
            ServerCallStreamObserver<ModelInferResponse> out,
            OipInferResult result,
            Throwable error,
            ModelInferRequest request,
            String tenant) {
        if (out.isCancelled()) {
            return;
        }
        if (error != null) {
            io.grpc.StatusRuntimeException status =
                    GrpcStatuses.toStatus(error, "ModelInfer " + LogSafe.of(request.getId()));
            metrics.error(tenant, "ModelInfer", request.getId(), status.getStatus());
            out.onError(status);
            return;
        }
        ModelInferResponse.Builder b = ModelInferResponse.newBuilder()
                .setModelName(result.modelName())
                .setModelVersion(result.modelVersion())
                .setId(request.getId());
        for (OipOutput o : result.outputs()) {
            ModelInferResponse.InferOutputTensor.Builder t = ModelInferResponse.InferOutputTensor.newBuilder()
                    .setName(o.name())
                    .setDatatype(o.datatype());
            for (long d : o.shape()) {
                t.addShape(d);
            }
            b.addOutputs(t);
            b.addRawOutputContents(ByteString.copyFrom(BinaryTensors.write(o)));
        }
        out.onNext(b.build());
        out.onCompleted();
    }

    /** Inputs from {@code raw_input_contents} when present (tritonclient), else from each tensor's contents. */
    static OipInferRequest command(ModelInferRequest r) {
        if (r.getRawInputContentsCount() > 0 && r.getRawInputContentsCount() != r.getInputsCount()) {
            throw ServeException.invalid(
                    Reason.MALFORMED_TENSOR,
                    "raw_input_contents has " + r.getRawInputContentsCount() + " entries for " + r.getInputsCount()
                            + " inputs");
        }
        List<OipTensor> inputs = new ArrayList<>();
        for (int i = 0; i < r.getInputsCount(); i++) {
            ModelInferRequest.InferInputTensor t = r.getInputs(i);
            List<byte[]> elements = r.getRawInputContentsCount() > 0
                    ? BinaryTensors.readBytes(r.getRawInputContents(i).asReadOnlyByteBuffer(), t.getName())
                    : t.getContents().getBytesContentsList().stream()
                            .map(ByteString::toByteArray)
                            .toList();
            long[] shape = t.getShapeList().stream().mapToLong(Long::longValue).toArray();
            inputs.add(new OipTensor(t.getName(), t.getDatatype(), shape, elements));
        }
        Map<String, Object> parameters = new HashMap<>();
        r.getParametersMap().forEach((k, v) -> parameters.put(k, value(v)));
        List<String> outputs = r.getOutputsList().stream()
                .map(ModelInferRequest.InferRequestedOutputTensor::getName)
                .toList();
        return new OipInferRequest(r.getModelName(), r.getModelVersion(), r.getId(), parameters, inputs, outputs);
    }

    private static Object value(InferParameter p) {
        return switch (p.getParameterChoiceCase()) {
            case BOOL_PARAM -> p.getBoolParam();
            case INT64_PARAM -> p.getInt64Param();
            case STRING_PARAM -> p.getStringParam();
            case DOUBLE_PARAM -> p.getDoubleParam();
            case UINT64_PARAM -> p.getUint64Param();
            case PARAMETERCHOICE_NOT_SET -> null;
        };
    }

    private static ModelMetadataResponse.TensorMetadata tensor(OipModel.TensorSpec t) {
        ModelMetadataResponse.TensorMetadata.Builder b = ModelMetadataResponse.TensorMetadata.newBuilder()
                .setName(t.name())
                .setDatatype(t.datatype());
        for (long d : t.shape()) {
            b.addShape(d);
        }
        return b.build();
    }

    private static Instant deadline(Context context) {
        if (context == null || context.getDeadline() == null) {
            return null;
        }
        return Instant.now().plusNanos(context.getDeadline().timeRemaining(TimeUnit.NANOSECONDS));
    }
}
