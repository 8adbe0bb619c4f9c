package io.inctrl.serve.api.oip;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.logging.LogSafe;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The REST infer body (OIP JSON, with the binary tensor extension): a JSON header of
 * {@code Inference-Header-Content-Length} bytes, then the raw data of every input whose {@code binary_data_size}
 * parameter is set, in input order (what tritonclient.http sends). A BYTES input in the JSON {@code data} array is a
 * base64 string per element, since encoded images are not UTF-8 text.
 */
final class RestInferBody {

    /** What the client asked back in binary: every output, or those named. */
    record Parsed(OipInferRequest request, boolean allBinary, Set<String> binaryOutputs) {

        boolean binary(String output) {
            return allBinary || binaryOutputs.contains(output);
        }
    }

    /** An answer: the JSON header, then the binary data of the outputs that went binary. */
    record Encoded(byte[] body, Integer headerLength) {}

    private RestInferBody() {}

    static Parsed read(ObjectMapper mapper, String model, String version, byte[] body, String headerLength) {
        int jsonLength = body.length;
        if (headerLength != null) {
            try {
                jsonLength = Integer.parseInt(headerLength.trim());
            } catch (NumberFormatException e) {
                jsonLength = -1;
            }
            if (jsonLength < 0 || jsonLength > body.length) {
                throw ServeException.invalid(
                        Reason.MALFORMED_BODY,
                        "Inference-Header-Content-Length must be the byte length of the JSON header (0.." + body.length
                                + ")");
            }
        }
        JsonNode root;
        try {
            root = mapper.readTree(body, 0, jsonLength);
        } catch (IOException e) {
            throw ServeException.invalid(Reason.MALFORMED_BODY, "the inference request's JSON header is malformed");
        }
        if (root == null || !root.isObject()) {
            throw ServeException.invalid(Reason.MALFORMED_BODY, "the inference request must be a JSON object");
        }
        ByteBuffer binary = ByteBuffer.wrap(body, jsonLength, body.length - jsonLength);
        List<OipTensor> inputs = new ArrayList<>();
        for (JsonNode in : array(root, "inputs")) {
            inputs.add(input(in, binary));
        }
        if (binary.hasRemaining()) {
            throw ServeException.invalid(
                    Reason.MALFORMED_BODY,
                    binary.remaining() + " bytes of binary data follow the inputs' binary_data_size sum");
        }
        List<String> outputs = new ArrayList<>();
        Set<String> binaryOutputs = new HashSet<>();
        for (JsonNode out : array(root, "outputs")) {
            String name = out.path("name").asText("");
            outputs.add(name);
            if (out.path("parameters").path("binary_data").asBoolean(false)) {
                binaryOutputs.add(name);
            }
        }
        Map<String, Object> parameters = parameters(root.path("parameters"));
        boolean allBinary = Boolean.TRUE.equals(parameters.get("binary_data_output"));
        String id = root.path("id").isTextual() ? root.path("id").asText() : "";
        return new Parsed(
                new OipInferRequest(model, version, id, parameters, inputs, outputs), allBinary, binaryOutputs);
    }

    static Encoded write(ObjectMapper mapper, OipInferResult result, Parsed request) {
        ObjectNode root = mapper.createObjectNode()
                .put("model_name", result.modelName())
                .put("model_version", result.modelVersion());
        if (!result.id().isEmpty()) {
            root.put("id", result.id());
        }
        ArrayNode outputs = root.putArray("outputs");
        ByteArrayOutputStream binary = new ByteArrayOutputStream();
        for (OipOutput o : result.outputs()) {
            ObjectNode t = outputs.addObject().put("name", o.name()).put("datatype", o.datatype());
            ArrayNode shape = t.putArray("shape");
            for (long d : o.shape()) {
                shape.add(d);
            }
            if (request.binary(o.name())) {
                byte[] raw = BinaryTensors.write(o);
                t.putObject("parameters").put("binary_data_size", raw.length);
                binary.writeBytes(raw);
            } else {
                ArrayNode data = t.putArray("data");
                if (o.fp32() != null) {
                    for (float v : o.fp32()) {
                        data.add(v);
                    }
                } else {
                    for (boolean v : o.bools()) {
                        data.add(v);
                    }
                }
            }
        }
        byte[] json;
        try {
            json = mapper.writeValueAsBytes(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("an inference response did not serialise", e);
        }
        if (binary.size() == 0) {
            return new Encoded(json, null);
        }
        byte[] body = new byte[json.length + binary.size()];
        System.arraycopy(json, 0, body, 0, json.length);
        System.arraycopy(binary.toByteArray(), 0, body, json.length, binary.size());
        return new Encoded(body, json.length);
    }

    private static OipTensor input(JsonNode in, ByteBuffer binary) {
        String name = in.path("name").asText("");
        String datatype = in.path("datatype").asText("");
        long[] shape = new long[in.path("shape").size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = in.path("shape").get(i).asLong();
        }
        JsonNode size = in.path("parameters").path("binary_data_size");
        List<byte[]> elements;
        if (!size.isMissingNode()) {
            long n = size.asLong(-1);
            if (n < 0 || n > binary.remaining()) {
                throw ServeException.invalid(
                        Reason.MALFORMED_BODY,
                        "input '" + LogSafe.of(name) + "' declares binary_data_size " + LogSafe.of(size.asText(), 20)
                                + " but " + binary.remaining() + " bytes of binary data remain");
            }
            ByteBuffer raw = binary.slice(binary.position(), (int) n);
            binary.position(binary.position() + (int) n);
            elements = OipTensor.BYTES.equals(datatype) ? BinaryTensors.readBytes(raw, name) : List.of();
        } else {
            elements = new ArrayList<>();
            flattenBase64(in.path("data"), name, elements);
        }
        return new OipTensor(name, datatype, shape, elements);
    }

    private static void flattenBase64(JsonNode data, String tensor, List<byte[]> into) {
        if (data.isArray()) {
            for (JsonNode e : data) {
                flattenBase64(e, tensor, into);
            }
        } else if (data.isTextual()) {
            try {
                into.add(Base64.getDecoder().decode(data.asText()));
            } catch (IllegalArgumentException e) {
                throw ServeException.invalid(
                        Reason.MALFORMED_TENSOR,
                        "input '" + LogSafe.of(tensor) + "': a BYTES element in JSON is a base64 string (or send "
                                + "it as binary data)");
            }
        } else if (!data.isMissingNode() && !data.isNull()) {
            throw ServeException.invalid(
                    Reason.MALFORMED_TENSOR, "input '" + LogSafe.of(tensor) + "': BYTES elements are base64 strings");
        }
    }

    private static Iterable<JsonNode> array(JsonNode root, String field) {
        JsonNode a = root.path(field);
        if (a.isMissingNode() || a.isNull()) {
            return List.of();
        }
        if (!a.isArray()) {
            throw ServeException.invalid(Reason.MALFORMED_BODY, "'" + field + "' must be an array");
        }
        return a;
    }

    private static Map<String, Object> parameters(JsonNode p) {
        Map<String, Object> out = new HashMap<>();
        if (!p.isObject()) {
            return out;
        }
        p.fields().forEachRemaining(e -> {
            JsonNode v = e.getValue();
            Object value = v.isTextual()
                    ? v.asText()
                    : v.isBoolean() ? (Object) v.asBoolean() : v.isIntegralNumber() ? (Object) v.asLong() : null;
            if (value == null && v.isNumber()) {
                value = v.asDouble();
            }
            out.put(e.getKey(), value);
        });
        return out;
    }
}
