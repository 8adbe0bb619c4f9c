package io.inctrl.serve.api.rest;

import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.logging.LogSafe;
import io.inctrl.serve.models.LoadedModel;
import io.inctrl.serve.models.ModelCatalog;
import io.inctrl.serve.models.ModelManager;
import io.inctrl.serve.models.ModelRef;
import io.inctrl.serve.models.ModelsConfig;
import io.inctrl.serve.models.Rollout;
import io.inctrl.serve.registry.EncodingBackfill;
import io.inctrl.serve.rollout.ModelAdminService;
import io.inctrl.serve.rollout.RolloutService;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.enums.SchemaType;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.parameters.Parameter;

/**
 * The models of this replica: read by any valid key (tenants choose a model and version when registering and
 * scoring); loaded, unloaded, reloaded and rolled out with the admin key only. Loads and unloads act on this replica
 * (each replica loads from the same repository); the roll-out (serving, canary, shadow) is stored and shared by every
 * replica. Load and unload are audited here ({@code model.load}, {@code model.unload}), roll-out changes by the
 * roll-out service ({@code model.rollout}, {@code model.promote}, {@code model.rollback}). See docs/models.md.
 */
@Path("/v1/models")
@Produces(MediaType.APPLICATION_JSON)
public class ModelAdminResource {

    /**
     * Every model of the repository and every loaded one.
     *
     * @param defaultModel   the model of requests that name none
     * @param source         where versions are loaded from (a directory, or the single configured bundle)
     * @param memoryBytes    estimated bytes of every loaded version (weights per device plus cache bounds)
     * @param maxMemoryBytes {@code inctrl.models.max-memory-bytes}; 0 = no limit
     */
    public record ModelsView(
            String defaultModel, String source, long memoryBytes, long maxMemoryBytes, List<ModelView> models) {}

    /**
     * One model.
     *
     * @param servingVersion the version answering requests that name no version (0 when none is loaded)
     * @param versionPolicy  which versions a reload loads ({@code latest:N}, {@code all}, {@code specific:...}); null
     *                       when the model's config.json is invalid
     * @param memoryBytes    estimated bytes of its loaded versions
     */
    public record ModelView(
            String name,
            boolean isDefault,
            long servingVersion,
            RolloutView rollout,
            String versionPolicy,
            long memoryBytes,
            List<VersionView> versions) {}

    /**
     * One version, loaded or not. {@code state}: AVAILABLE (in the repository, not loaded), LOADING, READY,
     * UNLOADING or UNAVAILABLE ({@code reason} says why). The bundle fields are filled for READY versions only.
     *
     * @param serving true for the version answering requests that name none
     * @param canary  true when it answers the roll-out's canary share
     * @param shadow  true when it scores the roll-out's shadow share
     * @param encoder what its prompt-set encodings are stored under ({@code bundle_id@precision})
     */
    public record VersionView(
            long version,
            String state,
            String reason,
            Instant since,
            boolean serving,
            boolean canary,
            boolean shadow,
            String bundleId,
            String encoder,
            String precision,
            boolean randomWeights,
            List<String> devices,
            long memoryBytes) {}

    /** The stored roll-out of a model; version 0 = none (serving 0 = the highest loaded version). */
    public record RolloutView(
            long servingVersion,
            long previousVersion,
            long canaryVersion,
            double canaryPercent,
            long shadowVersion,
            double shadowPercent) {
        static RolloutView of(Rollout r) {
            return new RolloutView(
                    r.servingVersion(),
                    r.previousVersion(),
                    r.canaryVersion(),
                    r.canaryPercent(),
                    r.shadowVersion(),
                    r.shadowPercent());
        }
    }

    /**
     * The canary and shadow of a model, replacing the current ones: an absent or 0 version or percent turns that one
     * off. Percentages are in [0, 100]; each version must be loaded.
     */
    public record RolloutRequest(Long canaryVersion, Double canaryPercent, Long shadowVersion, Double shadowPercent) {}

    /** The version to serve requests that name none; it must be loaded. */
    public record PromoteRequest(Long version) {}

    /**
     * Background encoding of the model's prompt sets by one loaded version, counted now.
     *
     * @param sets     prompt sets of the model (every tenant)
     * @param encoded  of which encoded by this version at their current shot revision
     * @param running  background encodings running on this replica now (every version)
     */
    public record EncodingProgressView(
            String model,
            long version,
            String encoder,
            long sets,
            long encoded,
            long pending,
            Instant countedAt,
            int running) {}

    @Inject
    ModelCatalog catalog;

    @Inject
    ModelManager models;

    @Inject
    ModelsConfig config;

    @Inject
    ModelAdminService admin;

    @Inject
    RolloutService rollouts;

    @Inject
    EncodingBackfill backfill;

    @Inject
    CurrentCaller caller;

    @GET
    @Operation(summary = "Every model with its versions, states, roll-out and memory (any valid key)")
    public ModelsView list() {
        caller.get();
        List<ModelView> out = new ArrayList<>();
        for (ModelCatalog.Entry e : catalog.entries()) {
            out.add(view(e));
        }
        return new ModelsView(
                models.defaultModel(), models.sourceDescription(), models.memoryBytes(), config.maxMemoryBytes(), out);
    }

    @GET
    @Path("/{name}")
    @Operation(summary = "One model with its versions, states, roll-out and memory (any valid key)")
    public ModelView get(@PathParam("name") String name) {
        caller.get();
        return view(catalog.entry(name));
    }

    @POST
    @Path("/{name}/versions/{version}/load")
    @Operation(
            summary = "Loads one version on this replica, whatever the version policy says (admin key); "
                    + "a loaded version answers as is")
    public ModelView load(
            @PathParam("name") String name,
            @PathParam("version") @Parameter(schema = @Schema(type = SchemaType.INTEGER, minimum = "1"))
                    String version) {
        caller.requireAdmin("loading a model");
        admin.load(caller.origin(), ref(name, version));
        return view(catalog.entry(name));
    }

    @POST
    @Path("/{name}/versions/{version}/unload")
    @Operation(
            summary = "Unloads one version on this replica (admin key): new requests go to other versions at once, "
                    + "its queued work is answered first")
    public ModelView unload(
            @PathParam("name") String name,
            @PathParam("version") @Parameter(schema = @Schema(type = SchemaType.INTEGER, minimum = "1"))
                    String version) {
        caller.requireAdmin("unloading a model");
        admin.unload(caller.origin(), ref(name, version));
        return view(catalog.entry(name));
    }

    @POST
    @Path("/{name}/reload")
    @Operation(
            summary = "Re-reads the repository and applies the model's version policy on this replica (admin key): "
                    + "loads the versions it selects, then unloads the others")
    public ModelView reload(@PathParam("name") String name) {
        caller.requireAdmin("reloading a model");
        admin.reload(caller.origin(), name);
        return view(catalog.entry(name));
    }

    @GET
    @Path("/{name}/rollout")
    @Operation(summary = "The model's roll-out as stored (any valid key)")
    public RolloutView rollout(@PathParam("name") String name) {
        caller.get();
        catalog.entry(name); // 404 for an unknown model
        return RolloutView.of(rollouts.current(name));
    }

    @PUT
    @Path("/{name}/rollout")
    @Consumes(MediaType.APPLICATION_JSON)
    @Operation(summary = "Sets the model's canary and shadow for every replica (admin key)")
    public RolloutView configure(@PathParam("name") String name, RolloutRequest r) {
        caller.requireAdmin("changing a roll-out");
        if (r == null) {
            throw ServeException.invalid(
                    Reason.MISSING_BODY,
                    "a JSON body {canaryVersion, canaryPercent, shadowVersion, shadowPercent} is required");
        }
        catalog.entry(name);
        return RolloutView.of(rollouts.configure(
                caller.origin(),
                name,
                version("canaryVersion", r.canaryVersion()),
                r.canaryPercent() == null ? 0 : r.canaryPercent(),
                version("shadowVersion", r.shadowVersion()),
                r.shadowPercent() == null ? 0 : r.shadowPercent()));
    }

    @POST
    @Path("/{name}/promote")
    @Consumes(MediaType.APPLICATION_JSON)
    @Operation(
            summary = "Makes a loaded version the one serving requests that name none, on every replica (admin key); "
                    + "the previous one becomes the roll-back target")
    public RolloutView promote(@PathParam("name") String name, PromoteRequest r) {
        caller.requireAdmin("promoting a model version");
        if (r == null || r.version() == null || r.version() < 1) {
            throw ServeException.invalid(
                    Reason.INVALID_MODEL_VERSION, "a JSON body {\"version\": N} with N >= 1 is required");
        }
        catalog.entry(name);
        return RolloutView.of(rollouts.promote(caller.origin(), name, r.version()));
    }

    @POST
    @Path("/{name}/rollback")
    @Operation(summary = "Serves the version that served before the last promotion again (admin key)")
    public RolloutView rollback(@PathParam("name") String name) {
        caller.requireAdmin("rolling back a model");
        catalog.entry(name);
        return RolloutView.of(rollouts.rollback(caller.origin(), name));
    }

    @GET
    @Path("/{name}/versions/{version}/encodings")
    @Operation(
            summary = "How many of the model's prompt sets (every tenant) a loaded version has encoded (admin key: "
                    + "the counts span tenants)")
    public EncodingProgressView encodings(
            @PathParam("name") String name,
            @PathParam("version") @Parameter(schema = @Schema(type = SchemaType.INTEGER, minimum = "1"))
                    String version) {
        caller.requireAdmin("reading the encoding progress");
        ModelRef ref = ref(name, version);
        LoadedModel m = models.get(ref)
                .orElseThrow(() -> new ServeException(
                        Reason.MODEL_VERSION_NOT_LOADED,
                        "model version " + LogSafe.of(ref.toString()) + " is not loaded on this replica"));
        EncodingBackfill.Progress p = backfill.progress(ref);
        if (p == null) { // unloaded between the two reads
            throw new ServeException(
                    Reason.MODEL_VERSION_NOT_LOADED,
                    "model version " + LogSafe.of(ref.toString()) + " is not loaded on this replica");
        }
        return new EncodingProgressView(
                name,
                ref.version(),
                m.encoderId(),
                p.sets(),
                p.encoded(),
                p.pending(),
                p.countedAt(),
                backfill.running());
    }

    private ModelView view(ModelCatalog.Entry e) {
        Rollout r = e.rollout();
        List<VersionView> versions = new ArrayList<>();
        long memory = 0;
        for (int i = 0; i < e.versions().size(); i++) {
            var s = e.versions().get(i);
            LoadedModel m = e.loaded().get(i);
            long v = s.ref().version();
            versions.add(new VersionView(
                    v,
                    s.state().name(),
                    s.reason(),
                    s.since(),
                    m != null && v == e.serving(),
                    m != null && r.canaryVersion() == v && r.canaryPercent() > 0,
                    m != null && r.shadowVersion() == v && r.shadowPercent() > 0,
                    m == null ? null : m.bundleId(),
                    m == null ? null : m.encoderId(),
                    m == null ? null : m.precision(),
                    m != null && m.randomWeights(),
                    m == null ? List.of() : m.devices(),
                    m == null ? 0 : m.memoryBytes()));
            memory += m == null ? 0 : m.memoryBytes();
        }
        String policy;
        try {
            policy = models.versionPolicy(e.name()).toString();
        } catch (ServeException invalidConfig) {
            policy = null; // the index reports the problem on the versions
        }
        return new ModelView(
                e.name(),
                e.name().equals(models.defaultModel()),
                e.serving(),
                RolloutView.of(r),
                policy,
                memory,
                versions);
    }

    /** A version in a path: a whole number >= 1, else 400 (JAX-RS would answer an unparsable one with 404). */
    static ModelRef ref(String name, String version) {
        long v;
        try {
            v = Long.parseLong(version.strip());
        } catch (NumberFormatException e) {
            v = 0;
        }
        if (v < 1) {
            throw ServeException.invalid(
                    Reason.INVALID_MODEL_VERSION,
                    "a model version is a whole number >= 1, not '" + LogSafe.of(version, 40) + "'");
        }
        return new ModelRef(name, v);
    }

    private static long version(String field, Long value) {
        if (value != null && value < 0) {
            throw ServeException.invalid(Reason.INVALID_MODEL_VERSION, field + " must be >= 0 (0 = off)");
        }
        return value == null ? 0 : value;
    }
}
