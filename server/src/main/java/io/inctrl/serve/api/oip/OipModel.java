package io.inctrl.serve.api.oip;

import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.lifecycle.Drain;
import io.inctrl.serve.logging.LogSafe;
import io.inctrl.serve.model.BundleManifest;
import io.inctrl.serve.model.ModelService;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.List;

/**
 * The served bundle as an Open Inference Protocol model: its name is the bundle id, it has one version
 * ({@value #VERSION}), and its tensors are those listed in docs/open-inference.md (the s_i, s_a, s_h outputs only
 * for bundles with InCTRL heads).
 */
@ApplicationScoped
public class OipModel {

    public static final String VERSION = "1";

    /** The protocol's unknown-dimension marker. */
    private static final long ANY = -1;

    /** Name, datatype and shape of one tensor in the model metadata. */
    public record TensorSpec(String name, String datatype, long[] shape) {}

    @Inject
    ModelService model;

    @Inject
    Drain drain;

    public String name() {
        return model.bundleId();
    }

    /**
     * Triton reports the backend here (e.g. {@code pytorch_libtorch}); ours is the bundle kind and the precision it runs
     * at, e.g. {@code patch-residual@bf16}. The protocol's gRPC ModelMetadataResponse has no parameters, and the
     * platform is "information only" there, so this is where gRPC clients see the precision.
     */
    public String platform() {
        return model.manifest().kind() + "@" + precision();
    }

    /** "fp32", "bf16" or "int8" (inctrl.model.precision). */
    public String precision() {
        return model.precision().wireName();
    }

    /** The REST metadata's optional {@code parameters} object: what a client may want to know beyond the tensors. */
    public java.util.Map<String, Object> parameters() {
        return java.util.Map.of("kind", model.manifest().kind(), "precision", precision());
    }

    /** Can score: loaded, warmed up and not draining (the same rule as /q/health/ready). */
    public boolean ready() {
        return model.ready() && !drain.draining();
    }

    /**
     * @param version empty for the served one
     * @throws ServeException NOT_FOUND unless {@code name} (and {@code version}) is the served model
     */
    public void require(String name, String version) {
        if (!name().equals(name)) {
            throw ServeException.notFound("model", name);
        }
        if (version != null && !version.isEmpty() && !VERSION.equals(version)) {
            throw ServeException.notFound("version", LogSafe.of(name) + "/" + version);
        }
    }

    public List<TensorSpec> inputs() {
        return List.of(
                new TensorSpec(OipInference.IMAGE, OipTensor.BYTES, new long[] {ANY}),
                new TensorSpec(OipInference.SHOTS, OipTensor.BYTES, new long[] {ANY}));
    }

    public List<TensorSpec> outputs() {
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
}
