// kbuild's JUnit 4 runner, launched as a source file (`java -cp CP JUnit4Runner.java FILE
// CLASS...`): JUnitCore's own output, and per class one result map appended to FILE in the
// shape the clojure.test runner writes (see test_results.rs), for the JUnit XML reports.
// An AssertionError is a failure, any other exception an error, as Surefire counts them.

import java.io.FileOutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.internal.TextListener;
import org.junit.runner.Description;
import org.junit.runner.JUnitCore;
import org.junit.runner.Result;
import org.junit.runner.notification.Failure;
import org.junit.runner.notification.RunListener;

public class JUnit4Runner {
    static final class Case {
        String name;
        long start;
        long micros;
        List<String> problems = new ArrayList<>();
    }

    static String edn(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : (s == null ? "" : s).toCharArray()) {
            switch (c) {
                case '"': b.append("\\\""); break;
                case '\\': b.append("\\\\"); break;
                case '\n': b.append("\\n"); break;
                case '\r': b.append("\\r"); break;
                case '\t': b.append("\\t"); break;
                default: b.append(c);
            }
        }
        return b.append('"').toString();
    }

    public static void main(String[] args) throws Exception {
        Map<String, Map<String, Case>> classes = new LinkedHashMap<>();
        RunListener recorder = new RunListener() {
            Case of(Description d) {
                return classes.computeIfAbsent(d.getClassName(), k -> new LinkedHashMap<>())
                        .computeIfAbsent(d.getMethodName() == null ? d.getClassName() : d.getMethodName(),
                                k -> { Case c = new Case(); c.name = k; return c; });
            }
            @Override public void testStarted(Description d) { of(d).start = System.nanoTime(); }
            @Override public void testFinished(Description d) {
                Case c = of(d);
                c.micros = (System.nanoTime() - c.start) / 1000;
            }
            @Override public void testFailure(Failure f) {
                Throwable t = f.getException();
                boolean error = !(t instanceof AssertionError);
                of(f.getDescription()).problems.add("{:error " + error + " :message " + edn(t.getMessage())
                        + " :type " + edn(t.getClass().getName()) + " :text " + edn(f.getTrace()) + "}");
            }
        };
        Class<?>[] tests = new Class<?>[args.length - 1];
        for (int i = 1; i < args.length; i++) {
            tests[i - 1] = Class.forName(args[i]);
        }
        System.out.println("JUnit version " + junit.runner.Version.id());
        JUnitCore core = new JUnitCore();
        core.addListener(new TextListener(System.out));
        core.addListener(recorder);
        Result result = core.run(tests);
        try (Writer w = new OutputStreamWriter(new FileOutputStream(args[0], true), StandardCharsets.UTF_8)) {
            for (Map.Entry<String, Map<String, Case>> e : classes.entrySet()) {
                long pass = 0, fail = 0, error = 0, micros = 0;
                StringBuilder cases = new StringBuilder();
                for (Case c : e.getValue().values()) {
                    micros += c.micros;
                    boolean failed = c.problems.stream().anyMatch(p -> p.startsWith("{:error false"));
                    if (failed) fail++; else if (c.problems.isEmpty()) pass++; else error++;
                    cases.append("{:name ").append(edn(c.name)).append(" :us ").append(c.micros)
                            .append(" :problems [").append(String.join(" ", c.problems)).append("]}");
                }
                w.write("{:ns " + edn(e.getKey()) + " :ran true :test " + e.getValue().size() + " :pass " + pass
                        + " :fail " + fail + " :error " + error + " :us " + micros + " :out \"\" :cases ["
                        + cases + "]}\n");
            }
        }
        System.exit(result.wasSuccessful() ? 0 : 1);
    }
}
