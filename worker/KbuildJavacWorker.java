// kbuild's warm javac: a JVM that keeps javax.tools.JavaCompiler loaded and JIT-compiled across
// compilations. It speaks Bazel's JSON persistent-worker protocol (WorkRequest objects in,
// WorkResponse objects out, one per line, multiplexed by requestId) on stdin/stdout with
// --persistent_worker, or on a Unix socket with --socket, where it outlives the kbuild that
// started it and exits after an idle time, when its socket file or its pid file is removed
// or replaced (kbuild clean removes the pid file), or when its JDK's release file changes.
//
// Each request's arguments are javac's command line, run through JavaCompiler.run: the same
// entry point as the javac launcher, so options, @argfiles, defaults and diagnostics are the
// command line's. Paths resolve against this JVM's working directory, which kbuild chooses
// (the project root) and checks through the request's sandboxDir.

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.PushbackReader;
import java.io.Reader;
import java.io.Writer;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

public final class KbuildJavacWorker {
    /** Not javac's: the request could not be run here (the client runs it as a javac process). */
    static final int NOT_RUN = 125;

    static final JavaCompiler JAVAC = ToolProvider.getSystemJavaCompiler();
    static final ExecutorService POOL = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "javac");
        t.setDaemon(true);
        return t;
    });
    /** Open connections and requests under way: the worker is idle when both are zero. */
    static final AtomicInteger BUSY = new AtomicInteger();
    static final AtomicLong LAST_ACTIVE = new AtomicLong(System.nanoTime());

    public static void main(String[] args) throws Exception {
        if (args.length == 1 && args[0].equals("--persistent_worker")) {
            // Only WorkResponses may go to stdout.
            OutputStream out = new PrintStream(System.out, true);
            System.setOut(System.err);
            serve(System.in, out);
            POOL.shutdown();
            POOL.awaitTermination(1, java.util.concurrent.TimeUnit.DAYS);
            return;
        }
        Map<String, String> opts = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            opts.put(args[i], args[i + 1]);
        }
        Path socket = Path.of(Objects.requireNonNull(opts.get("--socket"), "--socket PATH"));
        Path pidFile = Path.of(Objects.requireNonNull(opts.get("--pid-file"), "--pid-file PATH"));
        long idleNanos = Long.parseLong(opts.getOrDefault("--idle", "300")) * 1_000_000_000L;
        Path release = opts.containsKey("--release-file") ? Path.of(opts.get("--release-file")) : null;
        listen(socket, pidFile, idleNanos, release);
    }

    static void listen(Path socket, Path pidFile, long idleNanos, Path release) throws Exception {
        Files.deleteIfExists(socket);
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        Object ownSocket = fileKey(socket);
        String pid = Long.toString(ProcessHandle.current().pid());
        Path tmp = pidFile.resolveSibling(pidFile.getFileName() + ".tmp" + pid);
        Files.writeString(tmp, pid + "\n");
        Files.move(tmp, pidFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        byte[] jdk = release == null ? null : readOrNull(release);

        Thread watch = new Thread(() -> {
            while (true) {
                try {
                    Thread.sleep(Math.max(50, Math.min(1000, idleNanos / 4_000_000)));
                } catch (InterruptedException e) {
                    return;
                }
                boolean idle = BUSY.get() == 0;
                boolean idleTooLong = idle && System.nanoTime() - LAST_ACTIVE.get() > idleNanos;
                boolean replaced = !Objects.equals(fileKey(socket), ownSocket);
                boolean disowned = !pid.equals(readPid(pidFile));
                boolean jdkChanged = jdk != null && !java.util.Arrays.equals(jdk, readOrNull(release));
                if (idleTooLong || replaced || disowned || (idle && jdkChanged)) {
                    if (!replaced) {
                        try {
                            Files.deleteIfExists(socket);
                        } catch (IOException e) {
                            // Exiting regardless: the next client finds the socket refusing.
                        }
                    }
                    if (!disowned) {
                        try {
                            Files.deleteIfExists(pidFile);
                        } catch (IOException e) {
                            // Gone already.
                        }
                    }
                    Runtime.getRuntime().halt(0);
                }
            }
        }, "watch");
        watch.setDaemon(true);
        watch.start();

        while (true) {
            SocketChannel ch = server.accept();
            active(1);
            Thread t = new Thread(() -> {
                try {
                    serve(input(ch), output(ch));
                } catch (IOException e) {
                    // The client went away; its requests die with the connection.
                } finally {
                    try {
                        ch.close();
                    } catch (IOException e) {
                        // Closed.
                    }
                    active(-1);
                }
            }, "connection");
            t.setDaemon(true);
            t.start();
        }
    }

    static void active(int delta) {
        BUSY.addAndGet(delta);
        LAST_ACTIVE.set(System.nanoTime());
    }

    static Object fileKey(Path p) {
        try {
            return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
        } catch (IOException e) {
            return null;
        }
    }

    static String readPid(Path p) {
        try {
            return Files.readString(p).trim();
        } catch (IOException e) {
            return null;
        }
    }

    static byte[] readOrNull(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            return null;
        }
    }

    /** Reads requests until the end of the stream; each one is compiled on its own thread. */
    static void serve(InputStream in, OutputStream out) throws IOException {
        PushbackReader reader = new PushbackReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        Writer writer = new OutputStreamWriter(out, StandardCharsets.UTF_8);
        while (true) {
            Object message;
            try {
                message = Json.read(reader);
            } catch (EOFException e) {
                return;
            }
            if (!(message instanceof Map)) {
                throw new IOException("a WorkRequest is a JSON object");
            }
            Map<?, ?> request = (Map<?, ?>) message;
            if (Boolean.TRUE.equals(request.get("cancel"))) {
                continue; // Not supported: the request runs to its end and is answered.
            }
            active(1);
            POOL.execute(() -> {
                String response;
                try {
                    response = work(request);
                } finally {
                    active(-1);
                }
                synchronized (writer) {
                    try {
                        writer.write(response);
                        writer.write('\n');
                        writer.flush();
                    } catch (IOException e) {
                        // The client went away.
                    }
                }
            });
        }
    }

    static String work(Map<?, ?> request) {
        long id = request.get("requestId") instanceof Number ? ((Number) request.get("requestId")).longValue() : 0;
        List<String> arguments = new ArrayList<>();
        if (request.get("arguments") instanceof List) {
            for (Object a : (List<?>) request.get("arguments")) {
                arguments.add(String.valueOf(a));
            }
        }
        int code;
        String output;
        String dir = request.get("sandboxDir") instanceof String ? (String) request.get("sandboxDir") : null;
        String where = dir == null ? null : wrongDirectory(dir);
        if (where != null) {
            code = NOT_RUN;
            output = where;
        } else {
            System.err.println("request " + id + " started");
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            try {
                code = JAVAC.run(null, out, err, arguments.toArray(new String[0]));
            } catch (Throwable t) {
                code = NOT_RUN;
                t.printStackTrace(new PrintStream(err, true));
            }
            System.err.println("request " + id + " done: exit " + code);
            output = new String(out.toByteArray(), StandardCharsets.UTF_8)
                    + new String(err.toByteArray(), StandardCharsets.UTF_8);
        }
        return "{\"requestId\":" + id + ",\"exitCode\":" + code + ",\"output\":" + Json.quote(output) + "}";
    }

    /** Null when relative paths resolve in `dir`, else why not. */
    static String wrongDirectory(String dir) {
        try {
            String here = new File(System.getProperty("user.dir")).getCanonicalPath();
            if (here.equals(dir) && Files.isSameFile(Path.of(dir), Path.of("."))) {
                return null;
            }
            return "kbuild-javac-worker: working in " + here + ", not " + dir;
        } catch (IOException e) {
            return "kbuild-javac-worker: " + e;
        }
    }

    static InputStream input(SocketChannel ch) {
        // Not Channels.newInputStream: its reads and the output stream's writes share a lock,
        // so a blocked read would stop every response.
        return new InputStream() {
            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                return len == 0 ? 0 : ch.read(ByteBuffer.wrap(b, off, len));
            }
        };
    }

    static OutputStream output(SocketChannel ch) {
        return new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                ByteBuffer buf = ByteBuffer.wrap(b, off, len);
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
            }
        };
    }

    /** The JSON the protocol needs: objects, arrays, strings, numbers, booleans, null. */
    static final class Json {
        static Object read(PushbackReader r) throws IOException {
            int c = skipSpace(r);
            if (c < 0) {
                throw new EOFException();
            }
            switch (c) {
                case '{': {
                    Map<String, Object> m = new LinkedHashMap<>();
                    c = skipSpace(r);
                    if (c == '}') {
                        return m;
                    }
                    r.unread(c);
                    while (true) {
                        Object k = read(r);
                        if (!(k instanceof String) || skipSpace(r) != ':') {
                            throw new IOException("bad JSON object");
                        }
                        m.put((String) k, read(r));
                        c = skipSpace(r);
                        if (c == '}') {
                            return m;
                        }
                        if (c != ',') {
                            throw new IOException("bad JSON object");
                        }
                    }
                }
                case '[': {
                    List<Object> l = new ArrayList<>();
                    c = skipSpace(r);
                    if (c == ']') {
                        return l;
                    }
                    r.unread(c);
                    while (true) {
                        l.add(read(r));
                        c = skipSpace(r);
                        if (c == ']') {
                            return l;
                        }
                        if (c != ',') {
                            throw new IOException("bad JSON array");
                        }
                    }
                }
                case '"':
                    return string(r);
                default: {
                    StringBuilder word = new StringBuilder().append((char) c);
                    while ((c = r.read()) >= 0 && "{}[]:,\" \t\r\n".indexOf(c) < 0) {
                        word.append((char) c);
                    }
                    if (c >= 0) {
                        r.unread(c);
                    }
                    String w = word.toString();
                    switch (w) {
                        case "true": return Boolean.TRUE;
                        case "false": return Boolean.FALSE;
                        case "null": return null;
                        default:
                            try {
                                return w.matches("-?[0-9]+") ? (Object) Long.parseLong(w) : (Object) Double.parseDouble(w);
                            } catch (NumberFormatException e) {
                                throw new IOException("bad JSON value " + w);
                            }
                    }
                }
            }
        }

        static int skipSpace(Reader r) throws IOException {
            int c;
            do {
                c = r.read();
            } while (c == ' ' || c == '\t' || c == '\r' || c == '\n');
            return c;
        }

        static String string(Reader r) throws IOException {
            StringBuilder s = new StringBuilder();
            while (true) {
                int c = r.read();
                if (c < 0) {
                    throw new EOFException();
                }
                if (c == '"') {
                    return s.toString();
                }
                if (c != '\\') {
                    s.append((char) c);
                    continue;
                }
                int e = r.read();
                switch (e) {
                    case 'n': s.append('\n'); break;
                    case 't': s.append('\t'); break;
                    case 'r': s.append('\r'); break;
                    case 'b': s.append('\b'); break;
                    case 'f': s.append('\f'); break;
                    case 'u': {
                        char[] hex = new char[4];
                        for (int i = 0; i < 4; i++) {
                            int h = r.read();
                            if (h < 0) {
                                throw new EOFException();
                            }
                            hex[i] = (char) h;
                        }
                        s.append((char) Integer.parseInt(new String(hex), 16));
                        break;
                    }
                    case -1: throw new EOFException();
                    default: s.append((char) e);
                }
            }
        }

        static String quote(String s) {
            StringBuilder b = new StringBuilder(s.length() + 2).append('"');
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c == '"' || c == '\\') {
                    b.append('\\').append(c);
                } else if (c == '\n') {
                    b.append("\\n");
                } else if (c < 0x20) {
                    b.append(String.format("\\u%04x", (int) c));
                } else {
                    b.append(c);
                }
            }
            return b.append('"').toString();
        }
    }
}
