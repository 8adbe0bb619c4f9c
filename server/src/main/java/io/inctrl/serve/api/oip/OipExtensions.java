package io.inctrl.serve.api.oip;

import io.inctrl.serve.api.inference.DataType;
import io.inctrl.serve.api.inference.InferBatchStatistics;
import io.inctrl.serve.api.inference.InferStatistics;
import io.inctrl.serve.api.inference.ModelConfig;
import io.inctrl.serve.api.inference.ModelDynamicBatching;
import io.inctrl.serve.api.inference.ModelInput;
import io.inctrl.serve.api.inference.ModelInstanceGroup;
import io.inctrl.serve.api.inference.ModelOutput;
import io.inctrl.serve.api.inference.ModelParameter;
import io.inctrl.serve.api.inference.ModelQueuePolicy;
import io.inctrl.serve.api.inference.ModelStatistics;
import io.inctrl.serve.api.inference.ModelVersionPolicy;
import io.inctrl.serve.api.inference.StatisticDuration;
import io.inctrl.serve.audit.Origin;
import io.inctrl.serve.config.InctrlConfig;
import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.inference.ModelStatistics.BatchSizeStat;
import io.inctrl.serve.inference.ModelStatistics.Snapshot;
import io.inctrl.serve.logging.LogSafe;
import io.inctrl.serve.models.LoadedModel;
import io.inctrl.serve.models.ModelChoice;
import io.inctrl.serve.models.ModelManager;
import io.inctrl.serve.models.VersionPolicy;
import io.inctrl.serve.rollout.ModelAdminService;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Triton's model repository, model configuration and statistics extensions of the Open Inference Protocol, for both
 * transports: the answers as protocol messages (gRPC sends them, REST prints them as Triton's JSON). Load and unload
 * need the admin key and are audited; the rest any valid key (the transports check).
 */
@ApplicationScoped
public class OipExtensions {

    /** The extension names ServerMetadata reports for what this class serves (Triton's names). */
    public static final List<String> NAMES = List.of("model_repository", "model_configuration", "statistics");

    /** Triton's reason for a version in the repository that is not loaded. */
    static final String UNLOADED = "unloaded";

    private static final Pattern GPU = Pattern.compile("gpu\\((\\d+)\\)");

    /** One row of the repository index. */
    public record IndexEntry(String name, String version, String state, String reason) {}

    @Inject
    ModelManager models;

    @Inject
    OipModel model;

    @Inject
    ModelAdminService admin;

    @Inject
    InctrlConfig config;

    /**
     * Every version the repository holds or that is loaded, by model then version, in Triton's states: READY,
     * LOADING, UNLOADING, or UNAVAILABLE with reason "unloaded" (loadable, not loaded) or the problem (invalid bundle,
     * failed load).
     */
    public List<IndexEntry> index(boolean readyOnly) {
        List<IndexEntry> out = new ArrayList<>();
        for (ModelManager.VersionStatus s : models.index()) {
            String state = switch (s.state()) {
                case READY, LOADING, UNLOADING -> s.state().name();
                case AVAILABLE, UNAVAILABLE -> "UNAVAILABLE";
            };
            String reason = s.state() == ModelManager.State.AVAILABLE ? UNLOADED : s.reason();
            if (!readyOnly || s.state() == ModelManager.State.READY) {
                out.add(new IndexEntry(
                        s.ref().name(), Long.toString(s.ref().version()), state, reason == null ? "" : reason));
            }
        }
        return out;
    }

    /**
     * Triton's "load or reload": brings the model in line with the repository and its version policy (loads the
     * selected versions, then unloads the others). A configuration or files sent with the load are refused: this
     * server loads the repository's verified bundles only.
     */
    public void load(Origin origin, String name, Collection<String> parameterNames) {
        if (!parameterNames.isEmpty()) {
            throw ServeException.invalid(
                    Reason.UNSUPPORTED_LOAD_PARAMETER,
                    "load takes no parameters here (got " + LogSafe.of(String.join(", ", parameterNames), 200)
                            + "): models are loaded from the repository's bundles, not from a configuration sent "
                            + "with the request");
        }
        admin.reload(origin, name);
    }

    /** Unloads every loaded version of the model. */
    public void unload(Origin origin, String name) {
        admin.unloadModel(origin, name);
    }

    /** The configuration of the version {@code name}/{@code version} routes to (empty version = the serving one). */
    public ModelConfig config(String name, String version) {
        LoadedModel m = model.resolve(name, version);
        ModelConfig.Builder b = ModelConfig.newBuilder()
                .setName(m.name())
                .setPlatform(OipModel.platform(m))
                .setVersionPolicy(policy(models.versionPolicy(m.name())))
                .setMaxBatchSize(0);
        for (OipModel.TensorSpec t : model.inputs()) {
            ModelInput.Builder in = ModelInput.newBuilder()
                    .setName(t.name())
                    .setDataType(dataType(t.datatype()))
                    .setOptional(t.name().equals(OipInference.SHOTS));
            for (long d : t.shape()) {
                in.addDims(d);
            }
            b.addInput(in);
        }
        for (OipModel.TensorSpec t : OipModel.outputs(m)) {
            ModelOutput.Builder out = ModelOutput.newBuilder().setName(t.name()).setDataType(dataType(t.datatype()));
            for (long d : t.shape()) {
                out.addDims(d);
            }
            b.addOutput(out);
        }
        for (String device : m.devices()) {
            ModelInstanceGroup.Builder g =
                    ModelInstanceGroup.newBuilder().setName(device).setCount(1);
            Matcher gpu = GPU.matcher(device);
            if (gpu.matches()) {
                g.setKind(ModelInstanceGroup.Kind.KIND_GPU).addGpus(Integer.parseInt(gpu.group(1)));
            } else {
                g.setKind(ModelInstanceGroup.Kind.KIND_CPU);
            }
            b.addInstanceGroup(g);
        }
        InctrlConfig.Batching batching = config.batching();
        b.setDynamicBatching(ModelDynamicBatching.newBuilder()
                .addAllPreferredBatchSize(batching.preferredBatchSizes().orElse(List.of()))
                .setMaxQueueDelayMicroseconds(batching.maxQueueDelay().toNanos() / 1000)
                .setDefaultQueuePolicy(ModelQueuePolicy.newBuilder().setMaxQueueSize(batching.maxQueueSize())));
        parameter(b, "bundle_id", m.bundleId());
        parameter(b, "version", Long.toString(m.version()));
        parameter(b, "precision", m.precision());
        parameter(b, "encoder", m.encoderId());
        parameter(b, "random_weights", Boolean.toString(m.randomWeights()));
        parameter(b, "max_infer_batch", Integer.toString(config.limits().maxInferBatch()));
        parameter(b, "device_max_batch_size", Integer.toString(batching.maxBatchSize()));
        return b.build();
    }

    /**
     * Statistics of every loaded version ({@code name} empty), of every loaded version of one model ({@code version}
     * empty), or of one version.
     *
     * @throws ServeException NOT_FOUND for a model or version not loaded; INVALID_ARGUMENT for a version without a name
     */
    public List<ModelStatistics> statistics(String name, String version) {
        List<LoadedModel> versions;
        if (name == null || name.isEmpty()) {
            if (version != null && !version.isEmpty()) {
                throw ServeException.invalid(
                        Reason.MISSING_MODEL_NAME, "statistics of a version need the model's name");
            }
            versions = models.all();
        } else {
            ModelChoice c = model.choice(name, version);
            versions = c.version() > 0
                    ? models.get(new io.inctrl.serve.models.ModelRef(c.name(), c.version()))
                            .map(List::of)
                            .orElseThrow(() -> ServeException.notFound("version", name + "/" + version))
                    : models.versions(c.name());
        }
        List<ModelStatistics> out = new ArrayList<>();
        for (LoadedModel m : versions) {
            out.add(statistics(m));
        }
        return out;
    }

    static ModelStatistics statistics(LoadedModel m) {
        Snapshot s = m.statistics();
        // Triton charges each request of a batch with the whole batch's compute time: sum of size x time per size
        long perJobCompute = 0;
        for (BatchSizeStat b : s.batchSizes()) {
            perJobCompute += b.batchSize() * b.computeNanos();
        }
        ModelStatistics.Builder b = ModelStatistics.newBuilder()
                .setName(m.name())
                .setVersion(Long.toString(m.version()))
                .setLastInference(s.lastInferenceMillis())
                .setInferenceCount(s.inferenceCount())
                .setExecutionCount(s.executionCount())
                .setInferenceStats(InferStatistics.newBuilder()
                        .setSuccess(duration(s.successCount(), 0))
                        .setFail(duration(s.failureCount(), 0))
                        .setQueue(duration(s.queueCount(), s.queueNanos()))
                        .setComputeInfer(duration(s.successCount(), perJobCompute)));
        for (BatchSizeStat size : s.batchSizes()) {
            b.addBatchStats(InferBatchStatistics.newBuilder()
                    .setBatchSize(size.batchSize())
                    .setComputeInfer(duration(size.count(), size.computeNanos())));
        }
        return b.build();
    }

    private static StatisticDuration duration(long count, long nanos) {
        return StatisticDuration.newBuilder().setCount(count).setNs(nanos).build();
    }

    private static ModelVersionPolicy policy(VersionPolicy p) {
        ModelVersionPolicy.Builder b = ModelVersionPolicy.newBuilder();
        if (p instanceof VersionPolicy.Latest l) {
            b.setLatest(ModelVersionPolicy.Latest.newBuilder().setNumVersions(l.count()));
        } else if (p instanceof VersionPolicy.Specific s) {
            b.setSpecific(ModelVersionPolicy.Specific.newBuilder()
                    .addAllVersions(s.versions().stream().sorted().toList()));
        } else {
            b.setAll(ModelVersionPolicy.All.getDefaultInstance());
        }
        return b.build();
    }

    private static DataType dataType(String oip) {
        return switch (oip) {
            case OipTensor.BYTES -> DataType.TYPE_STRING;
            case OipTensor.FP32 -> DataType.TYPE_FP32;
            case OipTensor.BOOL -> DataType.TYPE_BOOL;
            default -> throw new IllegalStateException("no Triton data type for " + oip);
        };
    }

    private static void parameter(ModelConfig.Builder b, String key, String value) {
        b.putParameters(key, ModelParameter.newBuilder().setStringValue(value).build());
    }
}
