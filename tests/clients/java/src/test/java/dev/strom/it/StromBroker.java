package dev.strom.it;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * A real {@code strom-broker} process for one test class.
 *
 * <pre>
 * &#64;RegisterExtension
 * static final StromBroker BROKER = new StromBroker();
 * </pre>
 *
 * or, with extra broker properties (a second broker in the same class is fine):
 *
 * <pre>
 * &#64;RegisterExtension
 * static final StromBroker NO_AUTO_CREATE = new StromBroker(Map.of("auto.create.topics.enable", "false"));
 * </pre>
 *
 * Before the class it writes a {@code server.properties} (listeners on
 * {@code 127.0.0.1:0}, {@code log.dirs} in a temp dir, {@code node.id=1}), starts
 * the binary from {@code $STROM_BROKER_BIN} (default
 * {@code <repo>/target/debug/strom-broker}) and waits up to 30 s for its
 * {@code listening on HOST:PORT} line. After the class it stops the process
 * (SIGTERM, then SIGKILL after a deadline) and deletes the temp dir. When a
 * test fails, the tail of the broker's stderr is printed.
 */
public final class StromBroker implements BeforeAllCallback, AfterAllCallback, TestWatcher {
    public static final int NODE_ID = 1;
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(20);
    private static final Pattern LISTENING = Pattern.compile("listening on (\\S+)");

    private Path workDir;
    private Path stderrFile;
    private Process process;
    private String bootstrapServers;
    private final List<String> stdout = Collections.synchronizedList(new ArrayList<>());
    private final Map<String, String> extraProperties;

    /** A broker with the suite's default {@code server.properties}. */
    public StromBroker() {
        this(Map.of());
    }

    /**
     * A broker whose {@code server.properties} also holds {@code extraProperties}
     * (written after the defaults, so they win; e.g. {@code auto.create.topics.enable=false}).
     */
    public StromBroker(Map<String, String> extraProperties) {
        this.extraProperties = new TreeMap<>(extraProperties);
    }

    /** {@code HOST:PORT} the broker printed, for {@code bootstrap.servers}. */
    public String bootstrapServers() {
        if (bootstrapServers == null) {
            throw new IllegalStateException("strom-broker is not running");
        }
        return bootstrapServers;
    }

    /** Client properties with {@code bootstrap.servers} set. */
    public Properties clientProps() {
        Properties props = new Properties();
        props.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        return props;
    }

    /** A new Admin client for this broker; the caller closes it. */
    public Admin admin() {
        Properties props = clientProps();
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 15_000);
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30_000);
        return Admin.create(props);
    }

    static Path brokerBinary() {
        String env = System.getenv("STROM_BROKER_BIN");
        if (env != null && !env.isEmpty()) {
            return Paths.get(env).toAbsolutePath();
        }
        String root = System.getProperty("strom.root", "../../..");
        return Paths.get(root, "target", "debug", "strom-broker").toAbsolutePath().normalize();
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        Path binary = brokerBinary();
        if (!Files.isExecutable(binary)) {
            throw new IllegalStateException("strom-broker not found or not executable: " + binary
                + " (build it with `cargo build --workspace`, or set STROM_BROKER_BIN)");
        }
        workDir = Files.createTempDirectory("strom-java-it-");
        Path logDir = Files.createDirectories(workDir.resolve("data"));
        Path config = workDir.resolve("server.properties");
        List<String> lines = new ArrayList<>(List.of(
            "# written by " + StromBroker.class.getName() + " for " + context.getDisplayName(),
            "node.id=" + NODE_ID,
            "listeners=PLAINTEXT://127.0.0.1:0",
            "log.dirs=" + logDir,
            "group.initial.rebalance.delay.ms=0"));
        extraProperties.forEach((k, v) -> lines.add(k + "=" + v));
        lines.add("");
        Files.writeString(config, String.join("\n", lines));
        stderrFile = workDir.resolve("broker.stderr");

        ProcessBuilder pb = new ProcessBuilder(binary.toString(), config.toString())
            .directory(workDir.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
            .redirectError(stderrFile.toFile());
        process = pb.start();

        CompletableFuture<String> ready = new CompletableFuture<>();
        Thread reader = new Thread(() -> drainStdout(ready), "strom-broker-stdout");
        reader.setDaemon(true);
        reader.start();

        try {
            bootstrapServers = ready.get(READY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw startFailed("strom-broker printed no 'listening on HOST:PORT' within "
                + READY_TIMEOUT.toSeconds() + "s", e);
        } catch (ExecutionException e) {
            throw startFailed(e.getCause().getMessage(), e.getCause());
        }
    }

    /** Stops the process, prints the diagnostics once, returns a short exception to throw. */
    private IllegalStateException startFailed(String what, Throwable cause) throws InterruptedException {
        stopProcess();
        System.err.println("=== " + what + " ===\n" + diagnostics());
        return new IllegalStateException(what + "; last stderr line: " + stderrSummary()
            + " (full diagnostics above)", cause);
    }

    /** The most telling stderr line: the last `Error: ...` or panic, else the last line. */
    private String stderrSummary() {
        try {
            List<String> lines = Files.readAllLines(stderrFile, StandardCharsets.UTF_8);
            String last = "<none>";
            String telling = null;
            for (int i = 0; i < lines.size(); i++) {
                String line = lines.get(i).strip();
                if (line.isEmpty()) {
                    continue;
                }
                last = line;
                if (line.startsWith("Error:") || line.startsWith("error:")) {
                    telling = line;
                } else if (line.contains("panicked at") && i + 1 < lines.size()) {
                    telling = line + " " + lines.get(i + 1).strip();
                }
            }
            return telling != null ? telling : last;
        } catch (IOException e) {
            return "<cannot read " + stderrFile + ">";
        }
    }

    /** Reads stdout to EOF (so the child never blocks on a full pipe), completing {@code ready}. */
    private void drainStdout(CompletableFuture<String> ready) {
        try (BufferedReader r = new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                stdout.add(line);
                Matcher m = LISTENING.matcher(line);
                if (!ready.isDone() && m.find()) {
                    ready.complete(m.group(1));
                }
            }
        } catch (IOException e) {
            ready.completeExceptionally(new UncheckedIOException("reading strom-broker stdout", e));
        }
        ready.completeExceptionally(new IllegalStateException("strom-broker exited before it was ready"));
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        try {
            Optional<Integer> exit = stopProcess();
            if (exit.isPresent() && exit.get() != 0 && exit.get() != 143) {
                System.err.println("WARNING: strom-broker exited with " + exit.get() + " after SIGTERM\n"
                    + diagnostics());
            }
        } finally {
            bootstrapServers = null;
            deleteRecursively(workDir);
        }
    }

    /** SIGTERM, wait with a deadline, SIGKILL if needed; the exit code if it exited. */
    private Optional<Integer> stopProcess() throws InterruptedException {
        if (process == null) {
            return Optional.empty();
        }
        process.destroy();
        if (!process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
            System.err.println("WARNING: strom-broker did not exit within " + STOP_TIMEOUT.toSeconds()
                + "s of SIGTERM; killing it\n" + diagnostics());
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
            return Optional.empty();
        }
        return Optional.of(process.exitValue());
    }

    @Override
    public void testFailed(ExtensionContext context, Throwable cause) {
        System.err.println("=== " + context.getDisplayName() + " failed; strom-broker at " + bootstrapServers
            + " ===\n" + diagnostics());
    }

    String diagnostics() {
        StringBuilder sb = new StringBuilder();
        sb.append("--- strom-broker: ").append(process == null ? "not started"
            : process.isAlive() ? "running" : "exited " + process.exitValue()).append('\n');
        sb.append("--- stdout (last 40 lines) ---\n");
        synchronized (stdout) {
            stdout.subList(Math.max(0, stdout.size() - 40), stdout.size()).forEach(l -> sb.append(l).append('\n'));
        }
        sb.append("--- stderr (").append(stderrFile).append(") ---\n");
        try {
            List<String> lines = stderrFile == null ? List.of() : Files.readAllLines(stderrFile, StandardCharsets.UTF_8);
            if (lines.size() <= 120) {
                lines.forEach(l -> sb.append(l).append('\n'));
            } else {
                lines.subList(0, 40).forEach(l -> sb.append(l).append('\n'));
                sb.append("[... ").append(lines.size() - 100).append(" lines omitted ...]\n");
                lines.subList(lines.size() - 60, lines.size()).forEach(l -> sb.append(l).append('\n'));
            }
        } catch (IOException e) {
            sb.append("<cannot read: ").append(e).append(">\n");
        }
        return sb.toString();
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** Polls {@code condition} until true or {@code timeout} passes; fails with {@code what}. */
    public static void waitUntil(String what, Duration timeout, BooleanSupplier condition) {
        long deadline = System.nanoTime() + timeout.toNanos();
        long backoffMs = 10;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline >= 0) {
                throw new AssertionError("timed out after " + timeout.toSeconds() + "s waiting for " + what);
            }
            try {
                Thread.sleep(backoffMs); // back-off between polls of a condition
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting for " + what, e);
            }
            backoffMs = Math.min(backoffMs * 2, 250);
        }
    }
}
