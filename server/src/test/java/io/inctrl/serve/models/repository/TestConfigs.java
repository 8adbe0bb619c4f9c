package io.inctrl.serve.models.repository;

import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.util.Map;

/** {@link ModelsConfig} built by SmallRye Config from properties, as the server builds it (defaults, expressions). */
final class TestConfigs {

    private TestConfigs() {}

    static ModelsConfig models(Map<String, String> properties) {
        SmallRyeConfig config = new SmallRyeConfigBuilder()
                .addDefaultInterceptors()
                .withMapping(ModelsConfig.class)
                .withSources(new PropertiesConfigSource(properties, "test", 400))
                .build();
        return config.getConfigMapping(ModelsConfig.class);
    }
}
