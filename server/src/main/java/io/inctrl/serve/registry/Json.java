package io.inctrl.serve.registry;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;

/** JSON columns (string lists, calibration); a private mapper so app-wide Jackson settings cannot change the stored form. */
final class Json {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private Json() {}

    static String write(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    static List<String> strings(String json) {
        try {
            return MAPPER.readValue(json, new TypeReference<List<String>>() {});
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("corrupt JSON column", e);
        }
    }

    static Calibration calibration(String json) {
        try {
            return MAPPER.readValue(json, Calibration.class);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("corrupt calibration column", e);
        }
    }
}
