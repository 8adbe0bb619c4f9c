import ai.djl.engine.Engine;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Image build step: makes DJL extract every native library the server loads (libtorch + the DJL JNI bridge, and
 * the HuggingFace tokenizers library) into DJL_CACHE_DIR, so that the running container needs no writable cache.
 *
 * <p>Run with the server's own jars, as a single-file program (JDK 11+, no javac step):
 * {@code java -cp 'quarkus-app/lib/main/*' PrepareNatives.java}. It exits non-zero if anything fails to load.
 */
public final class PrepareNatives {

    public static void main(String[] args) throws Exception {
        String cache = System.getenv("DJL_CACHE_DIR");
        if (cache == null || cache.isBlank()) {
            throw new IllegalStateException("DJL_CACHE_DIR must name the cache to fill");
        }
        // Loading the engine extracts libtorch and libdjl_torch.so for the flavour chosen by PYTORCH_* settings.
        Engine pytorch = Engine.getEngine("PyTorch");
        System.out.println("PyTorch engine " + pytorch.getVersion() + " loaded");
        // The tokenizer library is extracted on first use; the server uses it for InCTRL text prompts.
        ai.djl.huggingface.tokenizers.jni.LibUtils.checkStatus();
        System.out.println("HuggingFace tokenizers library loaded");
        try (var files = Files.walk(Path.of(cache))) {
            files.filter(Files::isRegularFile).forEach(f -> System.out.println("  " + f));
        }
    }

    private PrepareNatives() {
    }
}
