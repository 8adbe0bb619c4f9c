package io.inctrl.serve.model;

/** What a bundle computes, from its manifest's {@code kind}. */
public enum BundleKind {
    /** The full InCTRL method: patch residual plus the learned heads ψ, η, φ and the CLIP text prior. */
    INCTRL("inctrl"),
    /** Vision-only: InCTRL's patch-level residual on a backbone's features; final score = s_p. */
    PATCH_RESIDUAL("patch-residual");

    private final String id;

    BundleKind(String id) {
        this.id = id;
    }

    public String id() {
        return id;
    }

    public boolean hasHeads() {
        return this == INCTRL;
    }

    /** The kind named {@code id}, or a BundleException naming the supported ones. */
    public static BundleKind of(String id) {
        for (BundleKind k : values()) {
            if (k.id.equals(id)) {
                return k;
            }
        }
        throw new BundleException("bundle kind '" + id + "' is not supported (expected '" + INCTRL.id + "' or '"
                + PATCH_RESIDUAL.id + "')");
    }
}
