package io.inctrl.serve.registry;

import io.inctrl.serve.config.InctrlConfig;
import io.inctrl.serve.image.ImageNotes;
import io.inctrl.serve.image.Inspection;
import io.inctrl.serve.image.InspectionChoice;
import io.inctrl.serve.image.InspectionChooser;
import io.inctrl.serve.model.TextPrior;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Resolves {@link Inspection#AUTO} for a set being registered: {@link InspectionChooser} on the shots' sizes (read
 * from the headers), and where the geometry leaves a choice, on the leave-one-out scores of the shots encoded in each
 * candidate mode by the version that registers the set (the same calibration statistic the set will store; costs one
 * extra encoding of the shots per candidate, only for frames between square and strip).
 */
@ApplicationScoped
public class AutoInspection {

    @Inject
    ModelPort model;

    @Inject
    InctrlConfig config;

    /** The concrete mode for {@code shots} and why; {@code prior} is the set's text prior (LOO scores use it). */
    public InspectionChoice choose(ModelVersionPort version, List<byte[]> shots, TextPrior prior) {
        List<int[]> sizes = new java.util.ArrayList<>(shots.size());
        for (int i = 0; i < shots.size(); i++) {
            sizes.add(model.imageSize(shots.get(i), ImageNotes.shot(i)));
        }
        InspectionChooser.Step step = InspectionChooser.byGeometry(
                sizes, version.inputSize(), config.inspection().maxTiles());
        Map<Inspection, float[]> loo = new EnumMap<>(Inspection.class);
        if (!step.isDecided() && shots.size() >= 2) {
            for (Inspection mode : step.candidates()) {
                ModelVersionPort.EncodedShots views = version.encodeShots(shots, mode);
                loo.put(mode, Calibrator.leaveOneOut(version, views.encoded(), views.shotOfView(), prior));
            }
        }
        return InspectionChooser.byLeaveOneOut(step, loo);
    }
}
