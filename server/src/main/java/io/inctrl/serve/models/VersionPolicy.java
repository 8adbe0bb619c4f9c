package io.inctrl.serve.models;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which versions of a model are loaded (Triton's {@code version_policy}): the latest N, all, or specific ones.
 * Written {@code latest:N}, {@code all} or {@code specific:1,3} in configuration.
 */
public sealed interface VersionPolicy {

    /** The versions to load among those available (each valid), highest first. */
    List<Long> select(List<Long> available);

    record Latest(int count) implements VersionPolicy {
        public Latest {
            if (count < 1) {
                throw new IllegalArgumentException("latest needs a count >= 1, was " + count);
            }
        }

        @Override
        public List<Long> select(List<Long> available) {
            return available.stream()
                    .sorted(Comparator.reverseOrder())
                    .limit(count)
                    .toList();
        }

        @Override
        public String toString() {
            return "latest:" + count;
        }
    }

    record All() implements VersionPolicy {
        @Override
        public List<Long> select(List<Long> available) {
            return available.stream().sorted(Comparator.reverseOrder()).toList();
        }

        @Override
        public String toString() {
            return "all";
        }
    }

    record Specific(Set<Long> versions) implements VersionPolicy {
        public Specific {
            if (versions.isEmpty()) {
                throw new IllegalArgumentException("specific needs at least one version");
            }
            versions = Set.copyOf(new TreeSet<>(versions));
        }

        @Override
        public List<Long> select(List<Long> available) {
            return available.stream()
                    .filter(versions::contains)
                    .sorted(Comparator.reverseOrder())
                    .toList();
        }

        @Override
        public String toString() {
            return "specific:"
                    + String.join(
                            ",",
                            new TreeSet<>(versions)
                                    .stream().map(String::valueOf).toList());
        }
    }

    /**
     * @throws IllegalArgumentException naming what is wrong with {@code text}
     */
    static VersionPolicy parse(String text) {
        String t = text == null ? "" : text.strip().toLowerCase(java.util.Locale.ROOT);
        try {
            if (t.equals("all")) {
                return new All();
            }
            if (t.startsWith("latest:")) {
                return new Latest(
                        Integer.parseInt(t.substring("latest:".length()).strip()));
            }
            if (t.startsWith("specific:")) {
                List<Long> versions = new ArrayList<>();
                for (String v : t.substring("specific:".length()).split(",")) {
                    versions.add(Long.parseLong(v.strip()));
                }
                return new Specific(Set.copyOf(versions));
            }
        } catch (NumberFormatException e) {
            // reported below with the accepted forms
        }
        throw new IllegalArgumentException("version policy '" + text + "' is not one of latest:N, all, specific:V1,V2");
    }
}
