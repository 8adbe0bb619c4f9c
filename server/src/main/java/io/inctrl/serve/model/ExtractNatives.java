package io.inctrl.serve.model;

import ai.djl.engine.Engine;
import ai.djl.huggingface.tokenizers.jni.LibUtils;
import ai.djl.util.Utils;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.stream.Stream;

/**
 * Image-build step: loads the PyTorch engine and the tokenizers library once so DJL extracts their natives from the
 * bundled jars into {@code DJL_CACHE_DIR}. The image then ships that cache read-only and no start extracts anything.
 * Run with the app's libraries on the class path, e.g.
 * {@code java -cp 'quarkus-app/lib/main/*:quarkus-app/app/*' io.inctrl.serve.model.ExtractNatives}.
 */
public final class ExtractNatives {

    private ExtractNatives() {}

    public static void main(String[] args) throws IOException {
        Engine engine = Engine.getEngine("PyTorch");
        LibUtils.checkStatus();
        Path cache = Utils.getCacheDir();
        // DJL extracts through 0700 temp dirs; the image runs as another user, who must be able to read them
        try (Stream<Path> files = Files.walk(cache)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                Files.setPosixFilePermissions(
                        p, PosixFilePermissions.fromString(Files.isDirectory(p) ? "rwxr-xr-x" : "rw-r--r--"));
            }
        }
        System.out.println("natives ready in " + cache + ": " + engine.getEngineName() + " " + engine.getVersion());
    }
}
