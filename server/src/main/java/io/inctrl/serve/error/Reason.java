package io.inctrl.serve.error;

import io.inctrl.serve.error.ServeException.Code;
import java.time.Duration;
import java.util.Locale;

/**
 * The catalogue of every reason the server reports (gRPC {@code google.rpc.ErrorInfo.reason}, REST problem
 * {@code reason}, Open Inference Protocol {@code reason}, ScoreStream {@code Error.reason}). Each reason has exactly one
 * gRPC code and one HTTP status, the same on every transport, and is either retryable, and then always sent with a
 * retry hint ({@code google.rpc.RetryInfo}, {@code Retry-After}, {@code Error.retry_after}), or never retryable and
 * sent without one: clients retry exactly when a hint is present. docs/errors.md holds the table generated from this
 * enum ({@code ReasonCatalogueTest} fails when they disagree).
 * <p>
 * Refusals that waiting cannot cure are never 429: a request over a size limit or a tenant's per-set shot quota is
 * {@link Code#INVALID_ARGUMENT} (send a smaller request), a tenant at its prompt-set count is
 * {@link Code#FAILED_PRECONDITION} (delete a set or raise the quota first), so retry-on-429 clients do not loop.
 */
public enum Reason {
    // ---- the request itself: fix it, never retry --------------------------------------------------------------
    EMPTY_IMAGE(Code.INVALID_ARGUMENT, "an image (query or shot) has no bytes, or a required image part is missing"),
    IMAGE_TOO_LARGE(
            Code.INVALID_ARGUMENT,
            "an image has more bytes than inctrl.limits.max-image-bytes or more pixels than max-image-pixels"),
    UNDECODABLE_IMAGE(Code.INVALID_ARGUMENT, "a PNG/JPEG/BMP/TIFF image is corrupt or truncated"),
    UNSUPPORTED_IMAGE(Code.INVALID_ARGUMENT, "not PNG/JPEG/BMP/TIFF, or a variant refused on purpose (CMYK JPEG)"),
    NO_PROMPTS(Code.INVALID_ARGUMENT, "neither inline shots nor a prompt set id"),
    AMBIGUOUS_PROMPTS(Code.INVALID_ARGUMENT, "both inline shots and a prompt set id"),
    NO_SHOTS(Code.INVALID_ARGUMENT, "a prompt set without shot images"),
    TOO_MANY_SHOTS(
            Code.INVALID_ARGUMENT,
            "more shots than inctrl.limits.max-shots, or than the tenant's maxShotsPerSet quota (send fewer)"),
    TOO_MANY_TILES(Code.INVALID_ARGUMENT, "a tiles-mode image needs more tiles than inctrl.inspection.max-tiles"),
    TOO_MANY_IMAGES(Code.INVALID_ARGUMENT, "more images in one ModelInfer than inctrl.limits.max-infer-batch"),
    PIXEL_BUDGET_EXCEEDED(
            Code.INVALID_ARGUMENT, "the request decodes to more pixels than inctrl.limits.max-request-pixels"),
    MISSING_CATEGORY(Code.INVALID_ARGUMENT, "inline shots without a category on a bundle with a text prior"),
    CATEGORY_TOO_LONG(
            Code.INVALID_ARGUMENT, "a category longer than max-category-length or than the text encoder's context"),
    INVALID_CATEGORY(Code.INVALID_ARGUMENT, "a category that is empty or longer than 128 characters"),
    INVALID_NAME(Code.INVALID_ARGUMENT, "a name that is empty or longer than 128 characters"),
    INVALID_INSPECTION(Code.INVALID_ARGUMENT, "an inspection mode other than center-crop, resize or tiles"),
    REQUEST_ID_TOO_LONG(Code.INVALID_ARGUMENT, "a request_id longer than inctrl.limits.max-request-id-length"),
    INVALID_THRESHOLD(Code.INVALID_ARGUMENT, "a threshold outside [0, 1]"),
    INVALID_TARGET_FPR(Code.INVALID_ARGUMENT, "a target false-positive rate outside (0, 0.5)"),
    INVALID_QUOTAS(Code.INVALID_ARGUMENT, "tenant quotas outside inctrl.security.quota-limits"),
    INVALID_PAGE_TOKEN(Code.INVALID_ARGUMENT, "a page token this server did not issue"),
    INVALID_PARAMETER(Code.INVALID_ARGUMENT, "a REST query, path or form parameter that does not parse"),
    BAD_PARAMETER(Code.INVALID_ARGUMENT, "an Open Inference Protocol request parameter of the wrong type"),
    MISSING_BODY(Code.INVALID_ARGUMENT, "a REST call that needs a JSON body sent none"),
    MALFORMED_BODY(Code.INVALID_ARGUMENT, "a REST body that is not valid JSON or has a value of the wrong type"),
    BAD_REQUEST(Code.INVALID_ARGUMENT, "a REST request the framework could not read (parameters, body)"),
    MALFORMED_MESSAGE(
            Code.INVALID_ARGUMENT,
            "a gRPC message that is not a valid protobuf encoding of the method's request (ends a ScoreStream)"),
    MALFORMED_TENSOR(Code.INVALID_ARGUMENT, "an Open Inference Protocol tensor whose contents do not match its shape"),
    BAD_DATATYPE(Code.INVALID_ARGUMENT, "an Open Inference Protocol input of the wrong datatype"),
    SHAPE_MISMATCH(Code.INVALID_ARGUMENT, "an Open Inference Protocol input of the wrong shape"),
    UNKNOWN_INPUT(Code.INVALID_ARGUMENT, "an Open Inference Protocol input this model does not take"),
    UNKNOWN_OUTPUT(Code.INVALID_ARGUMENT, "an Open Inference Protocol output this model does not produce"),
    DUPLICATE_INPUT(Code.INVALID_ARGUMENT, "an Open Inference Protocol input given twice"),
    MAP_SHAPES_DIFFER(Code.INVALID_ARGUMENT, "a map output requested for tiled images of different sizes"),
    TEMPLATE_MISSING_SLOT(Code.INVALID_ARGUMENT, "a prompt template without the {} slot for the state"),
    EMPTY_TEMPLATE_LIST(Code.INVALID_ARGUMENT, "a template set with an empty list"),
    TOO_MANY_TEMPLATES(Code.INVALID_ARGUMENT, "a template set with too many entries in a list"),
    TEMPLATE_TOO_LARGE(Code.INVALID_ARGUMENT, "a template entry or list longer than its limit"),
    SENTENCE_TOO_LONG(Code.INVALID_ARGUMENT, "a template sentence longer than the text encoder's context"),
    TOO_MANY_SENTENCES(Code.INVALID_ARGUMENT, "a template set yielding more than max-sentences sentences"),
    TOO_MANY_TOKENS(Code.INVALID_ARGUMENT, "a template set yielding more than max-total-tokens tokens"),
    MALFORMED_TEMPLATES(Code.INVALID_ARGUMENT, "a template set body that does not parse"),
    UNSUPPORTED_MEDIA_TYPE(Code.INVALID_ARGUMENT, 415, "a REST body of a media type the endpoint does not consume"),
    NOT_ACCEPTABLE(Code.INVALID_ARGUMENT, 406, "a REST Accept header the endpoint cannot answer"),
    METHOD_NOT_ALLOWED(Code.UNIMPLEMENTED, 405, "an HTTP method the REST path does not serve"),
    NO_SUCH_ENDPOINT(Code.UNIMPLEMENTED, 404, "no REST endpoint at this path"),
    URI_TOO_LONG(Code.INVALID_ARGUMENT, 414, "a request line longer than the server accepts"),
    PAYLOAD_TOO_LARGE(
            Code.RESOURCE_EXHAUSTED,
            413,
            "a body or (decompressed) gRPC message larger than the server accepts; waiting does not help"),
    TOO_MANY_PARTS(Code.RESOURCE_EXHAUSTED, 413, "a multipart form with more parts than the server accepts"),

    // ---- who is calling -----------------------------------------------------------------------------------------
    MISSING_API_KEY(Code.UNAUTHENTICATED, "no API key (x-api-key / X-API-Key) and no bearer token"),
    INVALID_API_KEY(Code.UNAUTHENTICATED, "an unknown or revoked API key, or one whose tenant was deleted"),
    INVALID_TOKEN(Code.UNAUTHENTICATED, "an invalid, expired or foreign OIDC bearer token"),
    TENANT_KEY_REQUIRED(Code.PERMISSION_DENIED, "the admin key on a call that needs a tenant key"),
    ADMIN_KEY_REQUIRED(Code.PERMISSION_DENIED, "a tenant key on a call that needs the admin key"),
    OTHER_TENANT(Code.PERMISSION_DENIED, "a tenant key asking for another tenant's audit entries"),
    NO_INCTRL_ROLE(Code.PERMISSION_DENIED, "a bearer token granting neither the admin role nor a tenant"),
    UNKNOWN_TENANT(Code.PERMISSION_DENIED, "a bearer token naming a tenant that does not exist"),

    // ---- objects and their state --------------------------------------------------------------------------------
    NOT_FOUND(Code.NOT_FOUND, "no such object for this caller (another tenant's objects answer the same)"),
    DUPLICATE(Code.ALREADY_EXISTS, "the name is already taken"),
    DUPLICATE_NAME(Code.ALREADY_EXISTS, "a prompt set, template set or tenant of that name already exists"),
    TEMPLATE_IN_USE(Code.FAILED_PRECONDITION, "a template set still used by prompt sets"),
    STALE_PROMPT_SET(Code.FAILED_PRECONDITION, "a prompt set encoded by another bundle (stale-policy reject)"),
    NO_TEXT_ENCODER(Code.FAILED_PRECONDITION, "a text-prompt operation on a bundle without a text tower"),
    TOO_MANY_PROMPT_SETS(
            Code.FAILED_PRECONDITION,
            "the tenant has its maxPromptSets quota of sets: delete one or raise the quota (waiting does not help)"),
    QUOTA_MISCONFIGURED(
            Code.FAILED_PRECONDITION, "the tenant's stored request-rate quota is invalid: an admin must set it again"),
    INVALID_SHOT(Code.INVALID_ARGUMENT, "a shot index that the prompt set does not have (removing shots)"),
    REVISION_NOT_FOUND(Code.NOT_FOUND, "a prompt-set revision that does not exist (rollback)"),
    QUERY_NOT_RETAINED(
            Code.NOT_FOUND,
            "a confirmed query id this replica no longer keeps (inctrl.registry.recent-queries): upload the image"),
    PROMPT_SET_NOT_ENCODED(
            Code.FAILED_PRECONDITION,
            "the prompt set has no encoding by that model version (threshold, comparison): wait or re-encode"),
    CONCURRENT_CHANGE(
            Code.ABORTED,
            Duration.ZERO,
            "the prompt set's shots changed while the operation ran: read it again and retry the whole operation"),

    // ---- models and their versions (docs/models.md)
    // ------------------------------------------------------------------
    MODEL_NOT_FOUND(Code.NOT_FOUND, "no model of that name in the repository or loaded here"),
    MODEL_VERSION_NOT_LOADED(Code.NOT_FOUND, "a model version (or a model) that is not loaded on this replica"),
    ROLLOUT_VERSION_NOT_LOADED(
            Code.FAILED_PRECONDITION,
            "a canary, shadow or promotion naming a version not loaded on this replica: load it first"),
    INVALID_MODEL_VERSION(Code.INVALID_ARGUMENT, "a model version that is not a positive integer"),
    INVALID_BUNDLE(
            Code.FAILED_PRECONDITION, "a bundle that cannot be loaded (manifest, checksums, weights, precision)"),
    INVALID_MODEL_CONFIG(Code.FAILED_PRECONDITION, "a model's config.json in the repository that does not parse"),
    MODEL_MEMORY_LIMIT(
            Code.FAILED_PRECONDITION,
            "loading would pass inctrl.models.max-memory-bytes: unload a version first (waiting does not help)"),
    NOTHING_TO_ROLL_BACK(Code.FAILED_PRECONDITION, "a roll-back of a model without a previous serving version"),
    NO_VERSIONS_TO_COMPARE(Code.FAILED_PRECONDITION, "a version comparison with fewer than two loaded versions"),
    INVALID_PERCENT(Code.INVALID_ARGUMENT, "a canary or shadow percentage outside [0, 100]"),
    MISSING_MODEL_NAME(Code.INVALID_ARGUMENT, "an Open Inference Protocol version request without a model name"),
    UNSUPPORTED_LOAD_PARAMETER(
            Code.INVALID_ARGUMENT, "Open Inference Protocol load parameters (models load from the repository only)"),

    // ---- capacity: retry after the hint ---------------------------------------------------------------------------
    QUEUE_FULL(Code.RESOURCE_EXHAUSTED, Duration.ofMillis(100), "the batcher's queue (or the tenant's share) is full"),
    DECODE_QUEUE_FULL(Code.RESOURCE_EXHAUSTED, Duration.ofMillis(100), "the image decode queue is full"),
    RATE_LIMITED(Code.RESOURCE_EXHAUSTED, Duration.ofSeconds(1), "the tenant's request rate quota is used up"),
    PIXEL_RATE_LIMITED(
            Code.RESOURCE_EXHAUSTED,
            Duration.ofSeconds(1),
            "the tenant's decoded-pixel rate (inctrl.limits.tenant-pixels-per-second) is used up"),

    // ---- this replica cannot serve now: retry after the hint (often on another replica) ----------------------------
    DRAINING(Code.UNAVAILABLE, Duration.ZERO, "the replica is shutting down: retry on another one now"),
    SHUTTING_DOWN(Code.UNAVAILABLE, Duration.ZERO, "the batcher closed while the request waited: retry elsewhere"),
    OVERLOADED(Code.UNAVAILABLE, Duration.ofSeconds(1), "no worker thread could take the call"),
    NO_DEVICE(Code.UNAVAILABLE, Duration.ofSeconds(1), "no device could run the batch"),
    REGISTRY_UNAVAILABLE(Code.UNAVAILABLE, Duration.ofSeconds(1), "the registry database cannot be reached (outage)"),
    STORE_STARTING(
            Code.UNAVAILABLE,
            Duration.ofSeconds(1),
            "the registry database has not been reached or migrated since start; inline scoring works meanwhile"),
    STORE_ERROR(Code.UNAVAILABLE, Duration.ofSeconds(1), "the registry database failed the operation (error id)"),
    MODEL_NOT_LOADED(
            Code.UNAVAILABLE,
            Duration.ofSeconds(1),
            "the model has no loaded version on this replica (loading or unloaded): retry, often on another replica"),
    MODEL_UNLOADING(Code.UNAVAILABLE, Duration.ZERO, "the model version unloaded while the request waited: retry now"),
    MODEL_REPOSITORY_UNAVAILABLE(
            Code.UNAVAILABLE, Duration.ofSeconds(5), "the model repository (S3) cannot be reached to load a version"),
    PROMPT_SET_ENCODING(
            Code.UNAVAILABLE,
            Duration.ofSeconds(1),
            "the prompt set is being encoded for this model version (background or another replica)"),
    PROMPT_SET_ENCODING_FAILED(
            Code.UNAVAILABLE,
            Duration.ofMinutes(1),
            "encoding the prompt set for this model version failed; it is tried again after the hint"),
    IDENTITY_PROVIDER_UNAVAILABLE(
            Code.UNAVAILABLE, Duration.ofSeconds(1), "the OIDC provider could not be reached to verify a token"),

    // ---- outcomes ---------------------------------------------------------------------------------------------------
    DEADLINE_EXCEEDED(Code.DEADLINE_EXCEEDED, "the call's deadline passed before it was answered"),
    CANCELLED(Code.CANCELLED, "the client cancelled the call"),
    INTERNAL(Code.INTERNAL, "a server bug or unexpected failure; the message carries an error id found in the log");

    private final Code code;
    private final int httpStatus;
    private final Duration defaultRetryAfter;
    private final String meaning;

    Reason(Code code, String meaning) {
        this(code, code.httpStatus, null, meaning);
    }

    Reason(Code code, int httpStatus, String meaning) {
        this(code, httpStatus, null, meaning);
    }

    Reason(Code code, Duration defaultRetryAfter, String meaning) {
        this(code, code.httpStatus, defaultRetryAfter, meaning);
    }

    Reason(Code code, int httpStatus, Duration defaultRetryAfter, String meaning) {
        this.code = code;
        this.httpStatus = httpStatus;
        this.defaultRetryAfter = defaultRetryAfter;
        this.meaning = meaning;
    }

    /** The gRPC status code of this reason on every transport. */
    public Code code() {
        return code;
    }

    /** The HTTP status of this reason on REST, Open Inference Protocol REST and the console API. */
    public int httpStatus() {
        return httpStatus;
    }

    /** Whether resending the same request may succeed; only retryable reasons carry a retry hint. */
    public boolean retryable() {
        return defaultRetryAfter != null;
    }

    /** The hint sent when the thrower knows no better one; null for reasons that are never retried. */
    public Duration defaultRetryAfter() {
        return defaultRetryAfter;
    }

    /** One line for the documentation table. */
    public String meaning() {
        return meaning;
    }

    /** The reasons table of docs/errors.md, generated from this enum. */
    public static String markdownTable() {
        StringBuilder b = new StringBuilder();
        b.append("| reason | gRPC code | HTTP | retry | meaning |\n");
        b.append("|---|---|---|---|---|\n");
        for (Reason r : values()) {
            b.append("| `")
                    .append(r.name())
                    .append("` | ")
                    .append(r.code.name())
                    .append(" | ")
                    .append(r.httpStatus)
                    .append(" | ")
                    .append(r.retryable() ? "yes (default " + human(r.defaultRetryAfter) + ")" : "no")
                    .append(" | ")
                    .append(r.meaning.replace("|", "\\|"))
                    .append(" |\n");
        }
        return b.toString();
    }

    private static String human(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }

    /** The problem {@code type} URI of this reason on REST. */
    public String problemType() {
        return "urn:inctrl:problem:" + name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
