package io.inctrl.serve.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;
import org.jboss.logging.Logger;

/**
 * The host CPU's feature flags (Linux {@code /proc/cpuinfo}). The int8 variants quantize activations to the full 8
 * bits, which is exact only with VNNI dot products: without them the u8·s8 pairs saturate 16-bit sums, so such a
 * variant is refused rather than served wrong.
 */
final class CpuFlags {

    private static final Logger LOG = Logger.getLogger(CpuFlags.class);

    private static volatile Optional<Set<String>> flags;

    private CpuFlags() {}

    /** The flags of the first processor, or empty where /proc/cpuinfo cannot be read (not Linux). */
    static Optional<Set<String>> host() {
        Optional<Set<String>> f = flags;
        if (f == null) {
            f = read(Path.of("/proc/cpuinfo"));
            flags = f;
        }
        return f;
    }

    static Optional<Set<String>> read(Path cpuinfo) {
        try (var lines = Files.lines(cpuinfo)) {
            return lines.filter(l -> l.startsWith("flags"))
                    .findFirst()
                    .map(l -> Set.of(l.substring(l.indexOf(':') + 1).trim().split("\\s+")));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** Throws a BundleException when the variant needs one of its CPU flags and this host has none of them. */
    static void require(String bundleId, ComputePrecision precision, BundleManifest.Variant variant) {
        require(bundleId, precision, variant, host());
    }

    static void require(
            String bundleId, ComputePrecision precision, BundleManifest.Variant variant, Optional<Set<String>> host) {
        if (variant.requiredCpuFlags().isEmpty()) {
            return;
        }
        if (host.isEmpty()) {
            LOG.warnf(
                    "cannot read the CPU flags; the %s variant of %s needs one of %s and is loaded unchecked",
                    precision, bundleId, variant.requiredCpuFlags());
            return;
        }
        if (variant.requiredCpuFlags().stream().noneMatch(host.get()::contains)) {
            throw new BundleException("bundle " + bundleId + ": its " + precision + " variant needs a CPU with one of "
                    + variant.requiredCpuFlags() + " (8-bit activations overflow 16-bit sums without VNNI); this CPU "
                    + "has none of them: choose bf16 or fp32");
        }
    }
}
