package io.inctrl.serve.api.grpc;

import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.image.Inspection;

/** Proto {@code inctrl.v1.Inspection} ↔ the image package's {@link Inspection}. */
final class InspectionMessages {

    private InspectionMessages() {}

    /**
     * Inline prompts: UNSPECIFIED is the centre crop; AUTO (a prompt-set choice) and a number this server does not
     * know are INVALID_ARGUMENT.
     */
    static Inspection fromProto(io.inctrl.serve.api.v1.Inspection i) {
        return switch (i) {
            case INSPECTION_UNSPECIFIED, INSPECTION_CENTER_CROP -> Inspection.CENTER_CROP;
            case INSPECTION_RESIZE -> Inspection.RESIZE;
            case INSPECTION_TILES -> Inspection.TILES;
            case INSPECTION_AUTO, UNRECOGNIZED ->
                throw ServeException.invalid(
                        Reason.INVALID_INSPECTION,
                        "inline prompts take INSPECTION_CENTER_CROP, INSPECTION_RESIZE or INSPECTION_TILES"
                                + " (INSPECTION_AUTO is chosen once, when a prompt set is registered)");
        };
    }

    /** A new prompt set: UNSPECIFIED is AUTO (the server chooses from the shots); unknown numbers are refused. */
    static Inspection fromProtoForSet(io.inctrl.serve.api.v1.Inspection i) {
        return switch (i) {
            case INSPECTION_UNSPECIFIED, INSPECTION_AUTO -> Inspection.AUTO;
            case INSPECTION_CENTER_CROP -> Inspection.CENTER_CROP;
            case INSPECTION_RESIZE -> Inspection.RESIZE;
            case INSPECTION_TILES -> Inspection.TILES;
            case UNRECOGNIZED ->
                throw ServeException.invalid(
                        Reason.INVALID_INSPECTION,
                        "inspection must be INSPECTION_AUTO, INSPECTION_CENTER_CROP, INSPECTION_RESIZE or"
                                + " INSPECTION_TILES");
        };
    }

    static io.inctrl.serve.api.v1.Inspection toProto(Inspection i) {
        return switch (i) {
            case CENTER_CROP -> io.inctrl.serve.api.v1.Inspection.INSPECTION_CENTER_CROP;
            case RESIZE -> io.inctrl.serve.api.v1.Inspection.INSPECTION_RESIZE;
            case TILES -> io.inctrl.serve.api.v1.Inspection.INSPECTION_TILES;
            case AUTO -> io.inctrl.serve.api.v1.Inspection.INSPECTION_AUTO; // never stored; mapped for completeness
        };
    }
}
