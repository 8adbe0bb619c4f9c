/**
 * Models as first-class objects: several models, each with numbered versions, loaded and unloaded at run time
 * ({@link io.inctrl.serve.models.ModelManager}), each loaded version with its own engines and batcher
 * ({@link io.inctrl.serve.models.LoadedModel}), and the routing of a request to a version
 * ({@link io.inctrl.serve.models.ModelRouter}: default model, explicit version, roll-out shares). Depends on the model
 * core ({@code model}, {@code inference}) only.
 */
package io.inctrl.serve.models;
