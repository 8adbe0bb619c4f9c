package io.inctrl.serve.models;

/** Lifecycle events of model versions, fired (CDI, synchronously) after the change; observers must return quickly. */
public sealed interface ModelEvent {

    ModelRef ref();

    /** A version finished loading and now serves. */
    record Loaded(LoadedModel model) implements ModelEvent {
        @Override
        public ModelRef ref() {
            return model.ref();
        }
    }

    /** A version stopped serving and was freed. */
    record Unloaded(ModelRef ref) implements ModelEvent {}
}
