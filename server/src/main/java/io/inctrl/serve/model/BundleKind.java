package io.inctrl.serve.model;

/** What a bundle computes, from its manifest's {@code kind}. */
public enum BundleKind {
    /** The full InCTRL method: patch residual plus the learned heads ψ, η, φ and the CLIP text prior. */
    INCTRL("inctrl"),
    /** Vision-only: InCTRL's patch-level residual on a backbone's features; final score = s_p. */
    PATCH_RESIDUAL("patch-residual"),
    /** InCTRL's learned heads ψ, η, φ over a vision-only backbone, without the text prior (s_a absent). */
    RESIDUAL_HEADS("residual-heads");

    private final String id;

    BundleKind(String id) {
        this.id = id;
    }

    public String id() {
        return id;
    }

    /** The learned heads ψ, η, φ (and so s_i, s_h and a global embedding g). */
    public boolean hasHeads() {
        return this != PATCH_RESIDUAL;
    }

    /** A CLIP text tower for the text prior s_a: only the full method; elsewhere category and templates are ignored. */
    public boolean hasTextPrior() {
        return this == INCTRL;
    }

    /** The kind named {@code id}, or a BundleException naming the supported ones. */
    public static BundleKind of(String id) {
        for (BundleKind k : values()) {
            if (k.id.equals(id)) {
                return k;
            }
        }
        throw new BundleException("bundle kind '" + id + "' is not supported (expected '" + INCTRL.id + "', '"
                + PATCH_RESIDUAL.id + "' or '" + RESIDUAL_HEADS.id + "')");
    }
}
