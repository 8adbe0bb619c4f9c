package io.inctrl.serve.api.grpc;

import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.image.Inspection;

/** Proto {@code inctrl.v1.Inspection} ↔ the image package's {@link Inspection}. */
final class InspectionMessages {

    private InspectionMessages() {}

    /** UNSPECIFIED is the centre crop; a number this server does not know is INVALID_ARGUMENT. */
    static Inspection fromProto(io.inctrl.serve.api.v1.Inspection i) {
        return switch (i) {
            case INSPECTION_UNSPECIFIED, INSPECTION_CENTER_CROP -> Inspection.CENTER_CROP;
            case INSPECTION_RESIZE -> Inspection.RESIZE;
            case INSPECTION_TILES -> Inspection.TILES;
            case UNRECOGNIZED ->
                throw ServeException.invalid(
                        Reason.INVALID_INSPECTION,
                        "inspection must be INSPECTION_CENTER_CROP, INSPECTION_RESIZE or INSPECTION_TILES");
        };
    }

    static io.inctrl.serve.api.v1.Inspection toProto(Inspection i) {
        return switch (i) {
            case CENTER_CROP -> io.inctrl.serve.api.v1.Inspection.INSPECTION_CENTER_CROP;
            case RESIZE -> io.inctrl.serve.api.v1.Inspection.INSPECTION_RESIZE;
            case TILES -> io.inctrl.serve.api.v1.Inspection.INSPECTION_TILES;
        };
    }
}
