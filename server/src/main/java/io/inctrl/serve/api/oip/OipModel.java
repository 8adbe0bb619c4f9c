package io.inctrl.serve.api.oip;

import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.lifecycle.Drain;
import io.inctrl.serve.logging.LogSafe;
import io.inctrl.serve.model.BundleManifest;
import io.inctrl.serve.models.LoadedModel;
import io.inctrl.serve.models.ModelCatalog;
import io.inctrl.serve.models.ModelChoice;
import io.inctrl.serve.models.ModelManager;
import io.inctrl.serve.registry.StoreStartup;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The served models as Open Inference Protocol models: a model's name is its model name (an older client's bundle id
 * is accepted too and names that bundle's version), its versions are the loaded ones (an empty version = the one the
 * roll-out routes to), and its tensors are those listed in docs/open-inference.md (the s_i, s_a, s_h outputs only for
 * bundles with InCTRL heads).
 */
@ApplicationScoped
public class OipModel {

    /** The protocol's unknown-dimension marker. */
    private static final long ANY = -1;

    /** Name, datatype and shape of one tensor in the model metadata. */
    public record TensorSpec(String name, String datatype, long[] shape) {}

    @Inject
    ModelManager models;

    @Inject
    ModelCatalog catalog;

    @Inject
    Drain drain;

    @Inject
    StoreStartup storeStartup;

    /**
     * What a request for {@code name} (and {@code version}, empty = any) routes by.
     *
     * @throws ServeException NOT_FOUND unless the model (and version) is loaded here
     */
    public ModelChoice choice(String name, String version) {
        Optional<LoadedModel> byBundle = byBundleId(name);
        if (byBundle.isPresent()) {
            LoadedModel m = byBundle.get();
            long v = parseVersion(name, version);
            if (v != 0 && v != m.version()) {
                throw ServeException.notFound("version", LogSafe.of(name) + "/" + version);
            }
            return ModelChoice.of(m.name(), m.version());
        }
        if (models.versions(name).isEmpty()) {
            throw ServeException.notFound("model", name);
        }
        long v = parseVersion(name, version);
        if (v != 0 && models.versions(name).stream().noneMatch(m -> m.version() == v)) {
            throw ServeException.notFound("version", LogSafe.of(name) + "/" + version);
        }
        return ModelChoice.of(name, v);
    }

    /** The loaded version that describes {@code name}/{@code version}: the named one, else the serving one. */
    public LoadedModel resolve(String name, String version) {
        return catalog.describe(choice(name, version));
    }

    /** The loaded versions of the model named by {@code name}, highest first, as the protocol's version strings. */
    public List<String> versions(String name) {
        String model = byBundleId(name).map(LoadedModel::name).orElse(name);
        List<String> out = new ArrayList<>();
        models.versions(model).forEach(m -> out.add(Long.toString(m.version())));
        return out;
    }

    /**
     * Triton reports the backend here (e.g. {@code pytorch_libtorch}); ours is the bundle kind and the precision the
     * version runs at, e.g. {@code patch-residual@bf16}. The protocol's gRPC ModelMetadataResponse has no parameters,
     * and the platform is "information only" there, so this is where gRPC clients see the precision.
     */
    public static String platform(LoadedModel m) {
        return m.manifest().kind() + "@" + m.precision();
    }

    /** The REST metadata's optional {@code parameters} object: what a client may want to know beyond the tensors. */
    public static java.util.Map<String, Object> parameters(LoadedModel m) {
        return java.util.Map.of("kind", m.manifest().kind(), "precision", m.precision());
    }

    /** Ready: default model loaded and warmed up, database migrated once, not draining (= /q/health/ready). */
    public boolean ready() {
        return models.ready() && storeStartup.ready() && !drain.draining();
    }

    public List<TensorSpec> inputs() {
        return List.of(
                new TensorSpec(OipInference.IMAGE, OipTensor.BYTES, new long[] {ANY}),
                new TensorSpec(OipInference.SHOTS, OipTensor.BYTES, new long[] {ANY}));
    }

    public static List<TensorSpec> outputs(LoadedModel model) {
        BundleManifest m = model.manifest();
        List<TensorSpec> out = new ArrayList<>();
        out.add(new TensorSpec(OipInference.SCORE, OipTensor.FP32, new long[] {ANY}));
        out.add(new TensorSpec(OipInference.MAP, OipTensor.FP32, new long[] {
            ANY, m.vision().grid()[0], m.vision().grid()[1]
        }));
        out.add(new TensorSpec(OipInference.IS_ANOMALOUS, OipTensor.BOOL, new long[] {ANY}));
        out.add(new TensorSpec(OipInference.S_P, OipTensor.FP32, new long[] {ANY}));
        if (m.hasHeads()) {
            List<String> scalars = m.hasTextPrior()
                    ? List.of(OipInference.S_I, OipInference.S_A, OipInference.S_H)
                    : List.of(OipInference.S_I, OipInference.S_H);
            for (String s : scalars) {
                out.add(new TensorSpec(s, OipTensor.FP32, new long[] {ANY}));
            }
        }
        return out;
    }

    /** Clients of the single-bundle server named the model by its bundle id; that still works. */
    private Optional<LoadedModel> byBundleId(String name) {
        if (!models.versions(name).isEmpty()) {
            return Optional.empty(); // a model name wins over a bundle id
        }
        return models.all().stream().filter(m -> m.bundleId().equals(name)).findFirst();
    }

    private static long parseVersion(String name, String version) {
        if (version == null || version.isEmpty()) {
            return 0;
        }
        try {
            long v = Long.parseLong(version);
            if (v < 1) {
                throw new NumberFormatException();
            }
            return v;
        } catch (NumberFormatException e) {
            throw ServeException.notFound("version", LogSafe.of(name) + "/" + LogSafe.of(version));
        }
    }
}
