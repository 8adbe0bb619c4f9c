package io.inctrl.serve.security;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;

/**
 * API key generation and hashing. Keys carry 256 random bits, so a plain SHA-256 is enough to store them: a slow
 * password hash (bcrypt, argon2) only helps against guessing low-entropy secrets, and a fast deterministic hash
 * lets every request find its key by an indexed lookup.
 */
public final class ApiKeys {

    public static final String PREFIX = "ik_";
    private static final SecureRandom RANDOM = new SecureRandom();

    private ApiKeys() {}

    public static String generate() {
        byte[] b = new byte[32];
        RANDOM.nextBytes(b);
        return PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    public static String hash(String key) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** First characters of a key, shown in listings so people can tell keys apart. */
    public static String displayPrefix(String key) {
        return key.substring(0, Math.min(10, key.length()));
    }

    /** Constant-time comparison (via the digests) for the configured admin key. */
    public static boolean matches(String presented, String expected) {
        return MessageDigest.isEqual(
                hash(presented).getBytes(StandardCharsets.US_ASCII),
                hash(expected).getBytes(StandardCharsets.US_ASCII));
    }
}
