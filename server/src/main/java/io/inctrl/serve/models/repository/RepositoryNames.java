package io.inctrl.serve.models.repository;

import java.util.regex.Pattern;

/** Names in a repository's layout: model directories and version directories. */
final class RepositoryNames {

    static final String MODEL_NAME_RULE = "letters, digits, '.', '_' and '-', not starting with '.', at most 128";

    // A model name travels in gRPC/REST paths and in object keys: keep it to a portable, path-safe set.
    private static final Pattern MODEL_NAME = Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}");
    private static final Pattern VERSION = Pattern.compile("[1-9][0-9]{0,18}");

    private RepositoryNames() {}

    static boolean validModelName(String name) {
        return MODEL_NAME.matcher(name).matches();
    }

    /** Hidden entries (".incoming", Kubernetes' "..data") are skipped without a warning. */
    static boolean hidden(String name) {
        return name.startsWith(".");
    }

    /** The version a directory name stands for, or -1 unless it is a positive integer in canonical form ("7"). */
    static long parseVersion(String name) {
        if (!VERSION.matcher(name).matches()) {
            return -1;
        }
        try {
            return Long.parseLong(name);
        } catch (NumberFormatException e) { // 19 digits beyond Long.MAX_VALUE
            return -1;
        }
    }
}
