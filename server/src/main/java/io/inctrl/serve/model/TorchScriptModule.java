package io.inctrl.serve.model;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ModelNotFoundException;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.training.ParameterStore;
import ai.djl.translate.NoopTranslator;
import java.io.IOException;
import java.nio.file.Path;
import org.jboss.logging.Logger;

/** One TorchScript file of a bundle, loaded on one device through DJL's PyTorch engine. */
final class TorchScriptModule implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(TorchScriptModule.class);

    private final String name;
    private final ZooModel<NDList, NDList> model;

    private TorchScriptModule(String name, ZooModel<NDList, NDList> model) {
        this.name = name;
        this.model = model;
    }

    static TorchScriptModule load(String name, Path file, Device device) {
        Criteria<NDList, NDList> criteria = Criteria.builder()
                .setTypes(NDList.class, NDList.class)
                .optModelPath(file)
                .optEngine("PyTorch")
                .optDevice(device)
                .optTranslator(new NoopTranslator())
                .build();
        try {
            TorchScriptModule module = new TorchScriptModule(name, criteria.loadModel());
            // Which file serves (portable or CPU-optimised copy) matters when comparing speed or numbers.
            LOG.infof("loaded %s module from %s on %s", name, file.getFileName(), device);
            return module;
        } catch (IOException | ModelNotFoundException | MalformedModelException e) {
            throw new BundleException("cannot load " + name + " module from " + file + ": " + e.getMessage(), e);
        }
    }

    /** Runs forward in inference mode; outputs are attached to the manager of the first input. */
    NDList forward(NDManager manager, NDArray... inputs) {
        return model.getBlock().forward(new ParameterStore(manager, false), new NDList(inputs), false);
    }

    String name() {
        return name;
    }

    @Override
    public void close() {
        model.close();
    }
}
