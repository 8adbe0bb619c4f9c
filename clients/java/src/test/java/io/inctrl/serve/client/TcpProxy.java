package io.inctrl.serve.client;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A TCP proxy in front of a backend; {@link #kill()} drops every connection at once, as when the backend's process
 * or host dies (the client sees the connection vanish, not a graceful shutdown).
 */
final class TcpProxy implements AutoCloseable {
    private final ServerSocket listener;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();

    TcpProxy(int targetPort) throws IOException {
        listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread accept = new Thread(
                () -> {
                    while (!listener.isClosed()) {
                        try {
                            Socket client = listener.accept();
                            Socket upstream = new Socket(InetAddress.getLoopbackAddress(), targetPort);
                            sockets.add(client);
                            sockets.add(upstream);
                            pump(client, upstream);
                            pump(upstream, client);
                        } catch (IOException e) {
                            return; // closed
                        }
                    }
                },
                "tcp-proxy-accept");
        accept.setDaemon(true);
        accept.start();
    }

    private void pump(Socket from, Socket to) {
        Thread t = new Thread(
                () -> {
                    byte[] buf = new byte[64 * 1024];
                    try (InputStream in = from.getInputStream();
                            OutputStream out = to.getOutputStream()) {
                        for (int n; (n = in.read(buf)) >= 0; ) {
                            out.write(buf, 0, n);
                            out.flush();
                        }
                    } catch (IOException ignored) {
                        // one side went away
                    } finally {
                        kill(from);
                        kill(to);
                    }
                },
                "tcp-proxy-pump");
        t.setDaemon(true);
        t.start();
    }

    private static void kill(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    String address() {
        return "127.0.0.1:" + listener.getLocalPort();
    }

    void kill() {
        try {
            listener.close();
        } catch (IOException ignored) {
            // already closed
        }
        sockets.forEach(TcpProxy::kill);
    }

    @Override
    public void close() {
        kill();
    }
}
