package io.inctrl.serve.api.oip;

import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;
import io.inctrl.serve.logging.LogSafe;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * The protocol's raw tensor encoding, shared by gRPC {@code raw_*_contents} and the REST binary tensor extension:
 * little-endian values; a BYTES element is a 4-byte little-endian length followed by its bytes; a BOOL one byte.
 */
final class BinaryTensors {

    private BinaryTensors() {}

    /** The elements of a raw BYTES tensor; INVALID_ARGUMENT naming the tensor when the lengths do not add up. */
    static List<byte[]> readBytes(ByteBuffer raw, String tensor) {
        ByteBuffer in = raw.slice().order(ByteOrder.LITTLE_ENDIAN);
        List<byte[]> elements = new ArrayList<>();
        while (in.hasRemaining()) {
            if (in.remaining() < 4) {
                throw malformed(tensor);
            }
            int length = in.getInt();
            if (length < 0 || length > in.remaining()) {
                throw malformed(tensor);
            }
            byte[] e = new byte[length];
            in.get(e);
            elements.add(e);
        }
        return elements;
    }

    static byte[] write(OipOutput o) {
        if (o.fp32() != null) {
            ByteBuffer b = ByteBuffer.allocate(o.fp32().length * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (float v : o.fp32()) {
                b.putFloat(v);
            }
            return b.array();
        }
        byte[] b = new byte[o.bools().length];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) (o.bools()[i] ? 1 : 0);
        }
        return b;
    }

    private static ServeException malformed(String tensor) {
        return ServeException.invalid(
                Reason.MALFORMED_TENSOR,
                "BYTES tensor '" + LogSafe.of(tensor)
                        + "' is malformed: each element is a 4-byte little-endian length and its " + "bytes");
    }
}
