package io.inctrl.serve.model;

import ai.djl.engine.Engine;
import ai.djl.huggingface.tokenizers.jni.LibUtils;

/**
 * Image-build step: loads the PyTorch engine and the tokenizers library once so DJL extracts their natives from the
 * bundled jars into {@code DJL_CACHE_DIR}. The image then ships that cache read-only and no start extracts anything.
 * Run with the app's libraries on the class path, e.g.
 * {@code java -cp 'quarkus-app/lib/main/*:quarkus-app/app/*' io.inctrl.serve.model.ExtractNatives}.
 */
public final class ExtractNatives {

    private ExtractNatives() {
    }

    public static void main(String[] args) {
        Engine engine = Engine.getEngine("PyTorch");
        LibUtils.checkStatus();
        System.out.println("natives ready in " + System.getenv().getOrDefault("DJL_CACHE_DIR", "~/.djl.ai")
                + ": " + engine.getEngineName() + " " + engine.getVersion());
    }
}
