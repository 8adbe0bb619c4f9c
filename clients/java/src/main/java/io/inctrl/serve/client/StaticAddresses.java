package io.inctrl.serve.client;

import io.grpc.EquivalentAddressGroup;
import io.grpc.NameResolver;
import io.grpc.NameResolverProvider;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/**
 * A fixed list of backends (a comma-separated address list) for round_robin. grpc-java resolves one target per
 * channel and has no built-in static list, so this tiny resolver hands the channel all addresses at once. Host
 * names are looked up once, when the client is built: use one DNS name instead when the replicas change.
 */
final class StaticAddresses extends NameResolverProvider {
    static final String SCHEME = "inctrl-static";
    private final List<EquivalentAddressGroup> groups;
    private final String authority;

    private StaticAddresses(List<EquivalentAddressGroup> groups, String authority) {
        this.groups = groups;
        this.authority = authority;
    }

    /** The comma-separated {@code host:port} entries of {@code address}, trimmed, empty ones dropped. */
    static List<String> entries(String address) {
        List<String> out = new ArrayList<>();
        for (String e : address.split(",")) {
            if (!e.isBlank()) {
                out.add(e.strip());
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("no server address given");
        }
        return out;
    }

    static StaticAddresses of(List<String> entries) {
        List<EquivalentAddressGroup> groups = new ArrayList<>();
        for (String e : entries) {
            int colon = e.lastIndexOf(':');
            if (colon <= 0 || colon == e.length() - 1) {
                throw new IllegalArgumentException("address " + e + " is not host:port");
            }
            String host = e.substring(0, colon).replace("[", "").replace("]", "");
            int port;
            try {
                port = Integer.parseInt(e.substring(colon + 1));
            } catch (NumberFormatException nfe) {
                throw new IllegalArgumentException("address " + e + " is not host:port", nfe);
            }
            try {
                for (InetAddress a : InetAddress.getAllByName(host)) {
                    groups.add(new EquivalentAddressGroup(List.<SocketAddress>of(new InetSocketAddress(a, port))));
                }
            } catch (UnknownHostException uhe) {
                throw new IllegalArgumentException("cannot resolve " + host, uhe);
            }
        }
        // TLS checks the server certificate against the authority: the first entry's host stands for the service
        return new StaticAddresses(List.copyOf(groups), entries.get(0));
    }

    List<EquivalentAddressGroup> groups() {
        return groups;
    }

    @Override
    public NameResolver newNameResolver(URI targetUri, NameResolver.Args args) {
        if (!SCHEME.equals(targetUri.getScheme())) {
            return null;
        }
        return new NameResolver() {
            @Override
            public String getServiceAuthority() {
                return authority;
            }

            @Override
            public void start(Listener2 listener) {
                listener.onResult(
                        ResolutionResult.newBuilder().setAddresses(groups).build());
            }

            @Override
            public void shutdown() {}
        };
    }

    @Override
    public String getDefaultScheme() {
        return SCHEME;
    }

    @Override
    protected boolean isAvailable() {
        return true;
    }

    @Override
    protected int priority() {
        return 5;
    }

    @Override
    public java.util.Collection<Class<? extends SocketAddress>> getProducedSocketAddressTypes() {
        return List.of(InetSocketAddress.class);
    }
}
