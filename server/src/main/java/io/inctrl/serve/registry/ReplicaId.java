package io.inctrl.serve.registry;

import java.util.UUID;

/** Names this process among the replicas sharing a store (owner of encoding claims): host, pid and a random part. */
public final class ReplicaId {

    private static final String VALUE = host() + "/" + ProcessHandle.current().pid() + "/"
            + UUID.randomUUID().toString().substring(0, 8);

    private ReplicaId() {}

    public static String get() {
        return VALUE;
    }

    private static String host() {
        String h = System.getenv("HOSTNAME");
        if (h == null || h.isBlank()) {
            try {
                h = java.net.InetAddress.getLocalHost().getHostName();
            } catch (java.net.UnknownHostException e) {
                h = "unknown-host";
            }
        }
        return h.length() > 64 ? h.substring(0, 64) : h;
    }
}
