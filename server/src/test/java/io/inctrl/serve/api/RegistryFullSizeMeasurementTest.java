package io.inctrl.serve.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.inctrl.serve.audit.Origin;
import io.inctrl.serve.registry.PromptSetDetails;
import io.inctrl.serve.registry.PromptSetService;
import io.inctrl.serve.registry.TestImages;
import io.inctrl.serve.security.TenantService;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Full-size tier: registers K = 8 shots with the full ViT-B-16-plus-240 bundle (random weights) and reports
 * registration time, stored bytes per shot in fp32 and fp16, and the fp16-vs-fp32 score difference
 * (written to target/registry-full-size.txt).
 */
@Tag("full-size")
@QuarkusTest
@TestProfile(RegistryFullSizeMeasurementTest.FullSize.class)
class RegistryFullSizeMeasurementTest {

    public static class FullSize implements QuarkusTestProfile {
        @Override
        public java.util.Map<String, String> getConfigOverrides() {
            return java.util.Map.of(
                    "inctrl.model.bundle",
                    "${test.assets.dir:../build/assets}/full",
                    "inctrl.security.enabled",
                    "false");
        }
    }

    @Inject
    PromptSetService service;

    @Test
    void registerK8_measureBytesTimeAndFp16Diff() throws IOException {
        List<byte[]> shots = shots();
        String t = TenantService.DEFAULT_TENANT_ID;
        long t0 = System.nanoTime();
        PromptSetDetails p32 = service.register(
                Origin.SYSTEM,
                t,
                new PromptSetService.NewPromptSet("full-fp32", "transistor", null, shots, false, null, null, null));
        long t1 = System.nanoTime();
        PromptSetDetails p16 = service.register(
                Origin.SYSTEM,
                t,
                new PromptSetService.NewPromptSet("full-fp16", "transistor", null, shots, true, null, null, null));
        long t2 = System.nanoTime();
        long[] b32 = service.storedBytes(t, p32.id());
        long[] b16 = service.storedBytes(t, p16.id());
        long q0 = System.nanoTime();
        float s32 = service.score(t, p32.id(), shots.get(0)).scores().score();
        long q1 = System.nanoTime();
        float s16 = service.score(t, p16.id(), shots.get(0)).scores().score();

        String report = String.format(
                Locale.ROOT,
                """
                full-size registry measurement (bundle %s, K=%d, 2-core CPU)
                registration fp32 (incl. text prior of 242 sentences): %.1f s
                registration fp16 (text prior cached):                 %.1f s
                feature bytes per shot fp32: %d   fp16: %d   (original images: %d bytes per shot)
                fp16 max |score diff| at registration (shots vs full set): %.3g
                score by id: %.1f ms; fp32 %.6f vs fp16 %.6f
                leave-one-out scores fp32: %s, suggested threshold %s
                """,
                p32.bundleId(),
                shots.size(),
                (t1 - t0) / 1e9,
                (t2 - t1) / 1e9,
                b32[0] / shots.size(),
                b16[0] / shots.size(),
                b32[1] / shots.size(),
                p16.calibration().fp16MaxAbsDiff(),
                (q1 - q0) / 1e6,
                s32,
                s16,
                p32.calibration().shotScores(),
                p32.calibration().suggestedThreshold());
        System.out.println(report);
        Files.writeString(Paths.get("target/registry-full-size.txt"), report);
        assertThat(b16[0] * 2).isEqualTo(b32[0]);
        assertThat(p16.calibration().fp16MaxAbsDiff()).isLessThan(1e-2f);
    }

    private static List<byte[]> shots() throws IOException {
        Path dir =
                Paths.get(System.getProperty("test.data.dir", "../../shared/data"), "mvtec_ad", "transistor", "shots");
        List<byte[]> out = new ArrayList<>();
        if (Files.isDirectory(dir)) {
            try (Stream<Path> s = Files.list(dir)) {
                for (Path p : s.filter(f -> f.toString().endsWith(".png"))
                        .sorted()
                        .limit(8)
                        .toList()) {
                    out.add(Files.readAllBytes(p));
                }
            }
        }
        return out.size() == 8 ? out : TestImages.normals(8);
    }
}
