//! Every kind of class javac writes parses: records, sealed interfaces, enums with constant
//! bodies, interfaces with default and static methods, inner, nested, local and anonymous
//! classes, annotations with every kind of element, type annotations, module-info; and
//! their ABI digests follow what their dependents see.

mod common;

use common::{check_all, compile_jobs, Classes, Job};
use kbuild_classfile::{abi_digest, class_name, referenced_classes, source_file};

const MODULE_INFO: &str = r#"
module demo.shapes {
    requires java.logging;
    requires transitive java.sql;
    exports shapes;
    opens shapes.internal to java.logging;
    uses shapes.Service;
    provides shapes.Service with shapes.internal.Impl;
}
"#;

const SERVICE: &str =
    "package shapes; public interface Service { default String name() { return \"service\"; } }";
const IMPL: &str = "package shapes.internal; public class Impl implements shapes.Service {}";

const SHAPE: &str = r#"package shapes;
public sealed interface Shape permits Circle, Square, Shape.Unit {
    double area();
    default String describe() { return getClass().getSimpleName() + " " + area(); }
    static Shape unit() { return Unit.INSTANCE; }
    enum Unit implements Shape { INSTANCE; public double area() { return 1; } }
}
"#;

const CIRCLE: &str = r#"package shapes;
public record Circle(double radius) implements Shape {
    public Circle {
        if (radius < 0) throw new IllegalArgumentException("radius");
    }
    public double area() { return Math.PI * radius * radius; }
}
"#;

const SQUARE: &str = r#"package shapes;
public non-sealed class Square implements Shape {
    protected final double side;
    public Square(double side) { this.side = side; }
    public double area() { return side * side; }
}
"#;

const COLOR: &str = r#"package shapes;
public enum Color {
    RED("r") { public Color next() { return GREEN; } },
    GREEN("g") { public Color next() { return RED; } };
    private final String code;
    Color(String code) { this.code = code; }
    public abstract Color next();
    public String code() { return code; }
    public static int rank(Color c) {
        switch (c) { case RED: return 1; default: return 2; }
    }
}
"#;

const OUTER: &str = r#"package shapes;
import java.util.function.Supplier;
public class Outer<T> {
    public class Inner<U> {
        public T t;
        public U u;
        public Outer<T> outer() { return Outer.this; }
    }
    public static class Nested { public static final long ID = 42L; }
    protected interface Callback { void call(); }
    public Outer<T>.Inner<String> make() { return new Inner<String>(); }
    public Runnable task() {
        class Local implements Runnable { public void run() {} }
        Callback c = new Callback() { public void call() {} };
        c.call();
        Supplier<Local> s = Local::new;
        return s.get();
    }
}
"#;

const META: &str = r#"package shapes;
import java.lang.annotation.*;
import static java.lang.annotation.ElementType.*;
@Retention(RetentionPolicy.RUNTIME)
@Target({TYPE, METHOD, FIELD, PARAMETER, TYPE_USE, TYPE_PARAMETER})
public @interface Meta {
    byte b() default 1;
    char c() default 'c';
    short s() default 2;
    int i() default 3;
    long j() default 4L;
    float f() default 5f;
    double d() default 6d;
    boolean z() default true;
    String str() default "s";
    Class<?> cls() default void.class;
    ElementType e() default ElementType.TYPE;
    Retention ann() default @Retention(RetentionPolicy.CLASS);
    int[] arr() default {1, 2};
}
"#;

const ANNOTATED: &str = r#"package shapes;
import java.util.List;
@Meta(str = "class", cls = String[].class, e = java.lang.annotation.ElementType.FIELD)
public class Annotated<@Meta T extends Comparable<T>> {
    @Meta(i = 7) public List<@Meta String> names;
    @Meta public <X extends Number> X pick(@Meta(z = false) X x, T t) throws @Meta IllegalStateException { return x; }
}
"#;

/// The sources above that Java 8 can compile.
fn java8_sources() -> Vec<(&'static str, &'static str)> {
    vec![
        ("shapes/Color.java", COLOR),
        ("shapes/Outer.java", OUTER),
        ("shapes/Meta.java", META),
        ("shapes/Annotated.java", ANNOTATED),
        ("shapes/Service.java", SERVICE),
        ("shapes/internal/Impl.java", IMPL),
    ]
}

fn java17_sources() -> Vec<(&'static str, &'static str)> {
    let mut all = java8_sources();
    all.extend([
        ("module-info.java", MODULE_INFO),
        ("shapes/Shape.java", SHAPE),
        ("shapes/Circle.java", CIRCLE),
        ("shapes/Square.java", SQUARE),
    ]);
    all
}

/// The Java 17 sources with `edits` ((file, from, to)) applied, and `extra` files added.
fn variant(edits: &[(&str, &str, &str)], extra: &[(&'static str, &'static str)]) -> Job<'static> {
    let mut job = Job::new("17", &java17_sources());
    for (file, from, to) in edits {
        let (_, text) = job.sources.iter_mut().find(|(p, _)| p == file).unwrap();
        assert!(text.contains(from), "{from:?} not in {file}");
        *text = text.replacen(from, to, 1);
    }
    job.sources
        .extend(extra.iter().map(|(p, t)| (*p, t.to_string())));
    job
}

fn check_every_class(classes: &Classes) {
    for (name, bytes) in classes {
        check_all(name, bytes);
    }
}

#[test]
fn every_kind_of_class_parses() {
    let compiled = compile_jobs(
        None,
        &[
            Job::new("17", &java17_sources()),
            Job::new("8", &java8_sources()),
        ],
    );
    let [modern, old] = &compiled[..] else {
        unreachable!()
    };
    for classes in &compiled {
        check_every_class(classes);
    }
    for name in [
        "module-info",
        "shapes/Shape",
        "shapes/Shape$Unit",
        "shapes/Circle",
        "shapes/Square",
        "shapes/Color",
        "shapes/Color$1",
        "shapes/Color$2",
        "shapes/Outer",
        "shapes/Outer$Inner",
        "shapes/Outer$Nested",
        "shapes/Outer$Callback",
        "shapes/Outer$1Local",
        "shapes/Outer$1",
        "shapes/Meta",
        "shapes/Annotated",
        "shapes/internal/Impl",
    ] {
        assert!(
            modern.contains_key(name),
            "{name} not compiled: {:?}",
            modern.keys()
        );
    }
    assert!(old.contains_key("shapes/Outer$1Local"));
    assert_eq!(class_name(&modern["module-info"]).unwrap(), "module-info");
    assert_eq!(
        source_file(&modern["shapes/Outer$Inner"])
            .unwrap()
            .as_deref(),
        Some("Outer.java")
    );
    assert_eq!(
        source_file(&modern["module-info"]).unwrap().as_deref(),
        Some("module-info.java")
    );

    let refs = |name: &str| referenced_classes(&modern[name]).unwrap();
    let has = |list: &[String], name: &str| list.iter().any(|c| c == name);
    let circle = refs("shapes/Circle");
    assert!(
        has(&circle, "java/lang/Record") && has(&circle, "shapes/Shape"),
        "{circle:?}"
    );
    assert!(
        has(&circle, "java/lang/IllegalArgumentException"),
        "{circle:?}"
    );
    let meta = refs("shapes/Meta");
    for c in [
        "java/lang/annotation/ElementType",
        "java/lang/annotation/Retention",
        "java/lang/annotation/RetentionPolicy",
    ] {
        assert!(has(&meta, c), "{c} not in {meta:?}");
    }
    let annotated = refs("shapes/Annotated");
    for c in [
        "shapes/Meta",
        "java/lang/Comparable",
        "java/lang/Number",
        "java/lang/IllegalStateException",
        "java/util/List",
    ] {
        assert!(has(&annotated, c), "{c} not in {annotated:?}");
    }
    let outer = refs("shapes/Outer");
    for c in [
        "shapes/Outer$1Local",
        "shapes/Outer$Inner",
        "java/util/function/Supplier",
    ] {
        assert!(has(&outer, c), "{c} not in {outer:?}");
    }
    let module = refs("module-info");
    assert!(
        has(&module, "shapes/Service") && has(&module, "shapes/internal/Impl"),
        "{module:?}"
    );
}

#[test]
fn abi_of_records_sealed_types_enums_modules_and_annotations() {
    const TRIANGLE: &str = "package shapes; public final class Triangle implements Shape { public double area() { return 0.5; } }";
    // (what, edits, extra files, class whose digest is compared, same ABI?)
    type Case = (
        &'static str,
        &'static [(&'static str, &'static str, &'static str)],
        &'static [(&'static str, &'static str)],
        &'static str,
        bool,
    );
    let cases: &[Case] = &[
        ("record compact constructor body", &[("shapes/Circle.java", "\"radius\"", "\"negative radius\"")], &[], "shapes/Circle", true),
        ("record component type", &[("shapes/Circle.java", "double radius", "float radius")], &[], "shapes/Circle", false),
        ("record component renamed", &[("shapes/Circle.java", "(double radius)", "(double r)"), ("shapes/Circle.java", "radius < 0", "r < 0"), ("shapes/Circle.java", "radius * radius", "r * r")], &[], "shapes/Circle", false),
        ("permitted subclass added", &[("shapes/Shape.java", "Square,", "Square, Triangle,")], &[("shapes/Triangle.java", TRIANGLE)], "shapes/Shape", false),
        ("default method body", &[("shapes/Shape.java", "\" \" + area()", "\": \" + area()")], &[], "shapes/Shape", true),
        ("default method made abstract", &[("shapes/Service.java", "default String name() { return \"service\"; }", "String name();"), ("shapes/internal/Impl.java", "{}", "{ public String name() { return \"impl\"; } }")], &[], "shapes/Service", false),
        ("enum constant added", &[("shapes/Color.java", "GREEN(\"g\") { public Color next() { return RED; } };", "GREEN(\"g\") { public Color next() { return RED; } }, BLUE(\"b\") { public Color next() { return RED; } };")], &[], "shapes/Color", false),
        ("enum constant body", &[("shapes/Color.java", "return GREEN;", "return RED;")], &[], "shapes/Color$1", true),
        ("anonymous and local classes in a body", &[("shapes/Outer.java", "c.call();", "c.call(); new Callback() { public void call() {} }.call(); class Two {} new Two();")], &[], "shapes/Outer", true),
        ("inner class made private", &[("shapes/Outer.java", "public class Inner<U>", "private class Inner<U>"), ("shapes/Outer.java", "public Outer<T>.Inner<String> make()", "Object make()")], &[], "shapes/Outer", false),
        ("module exports a package", &[("module-info.java", "exports shapes;", "exports shapes; exports shapes.internal;")], &[], "module-info", false),
        ("module provides", &[("module-info.java", "provides shapes.Service with shapes.internal.Impl;", "")], &[], "module-info", false),
        ("annotation default value", &[("shapes/Meta.java", "int i() default 3;", "int i() default 4;")], &[], "shapes/Meta", false),
        ("nested annotation default", &[("shapes/Meta.java", "RetentionPolicy.CLASS", "RetentionPolicy.SOURCE")], &[], "shapes/Meta", false),
        ("class literal in an annotation", &[("shapes/Annotated.java", "String[].class", "Integer.class")], &[], "shapes/Annotated", false),
        ("type-use annotation value", &[("shapes/Annotated.java", "List<@Meta String>", "List<@Meta(i = 9) String>")], &[], "shapes/Annotated", false),
        ("type-parameter annotation removed", &[("shapes/Annotated.java", "<@Meta T extends", "<T extends")], &[], "shapes/Annotated", false),
        ("throws type annotation removed", &[("shapes/Annotated.java", "throws @Meta IllegalStateException", "throws IllegalStateException")], &[], "shapes/Annotated", false),
        ("generic bound", &[("shapes/Annotated.java", "<X extends Number>", "<X extends Integer>")], &[], "shapes/Annotated", false),
    ];
    let mut jobs = vec![variant(&[], &[])];
    jobs.extend(
        cases
            .iter()
            .map(|(_, edits, extra, _, _)| variant(edits, extra)),
    );
    let compiled = compile_jobs(None, &jobs);
    for classes in &compiled {
        check_every_class(classes);
    }
    let mut failures = Vec::new();
    for ((what, _, _, class, same), classes) in cases.iter().zip(&compiled[1..]) {
        let before = &compiled[0][*class];
        let after = &classes[*class];
        assert!(before != after, "{what}: {class} did not change");
        let kept = abi_digest(before).unwrap() == abi_digest(after).unwrap();
        if kept != *same {
            failures.push(format!(
                "{what}: expected {class}'s ABI digest {}",
                if *same { "kept" } else { "changed" }
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn dynamic_constants_parse() {
    // Debian's libasm-java (.ci/run installs it).
    let asm = std::path::Path::new("/usr/share/java/asm.jar");
    assert!(asm.exists(), "{} (libasm-java)", asm.display());
    const GEN: &str = r#"
import org.objectweb.asm.*;
import java.nio.file.*;
public class Gen {
    public static void main(String[] args) throws Exception {
        ClassWriter cw = new ClassWriter(ClassWriter.COMPUTE_FRAMES | ClassWriter.COMPUTE_MAXS);
        cw.visit(Opcodes.V17, Opcodes.ACC_PUBLIC | Opcodes.ACC_SUPER, "gen/Condy", null, "java/lang/Object", null);
        MethodVisitor mv = cw.visitMethod(Opcodes.ACC_PUBLIC | Opcodes.ACC_STATIC, "main", "([Ljava/lang/String;)V", null, null);
        mv.visitCode();
        Handle bsm = new Handle(Opcodes.H_INVOKESTATIC, "java/lang/invoke/ConstantBootstraps", "nullConstant",
            "(Ljava/lang/invoke/MethodHandles$Lookup;Ljava/lang/String;Ljava/lang/Class;)Ljava/lang/Object;", false);
        mv.visitFieldInsn(Opcodes.GETSTATIC, "java/lang/System", "out", "Ljava/io/PrintStream;");
        mv.visitLdcInsn(new ConstantDynamic("_", "Ljava/lang/Object;", bsm));
        mv.visitMethodInsn(Opcodes.INVOKEVIRTUAL, "java/io/PrintStream", "println", "(Ljava/lang/Object;)V", false);
        mv.visitInsn(Opcodes.RETURN);
        mv.visitMaxs(0, 0);
        mv.visitEnd();
        cw.visitEnd();
        Path out = Paths.get(args[0], "gen", "Condy.class");
        Files.createDirectories(out.getParent());
        Files.write(out, cw.toByteArray());
    }
}
"#;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Gen.java"), GEN).unwrap();
    let run = |args: &[&std::ffi::OsStr]| {
        let out = std::process::Command::new("java")
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let classes = dir.path().join("classes");
    run(&[
        "-cp".as_ref(),
        asm.as_os_str(),
        dir.path().join("Gen.java").as_os_str(),
        classes.as_os_str(),
    ]);
    // The JVM accepts it: it prints the dynamic constant, null.
    assert_eq!(
        run(&["-cp".as_ref(), classes.as_os_str(), "gen.Condy".as_ref()]).trim(),
        "null"
    );
    let bytes = std::fs::read(classes.join("gen/Condy.class")).unwrap();
    check_all("gen/Condy", &bytes);
    let refs = referenced_classes(&bytes).unwrap();
    assert!(
        refs.iter()
            .any(|c| c == "java/lang/invoke/ConstantBootstraps"),
        "{refs:?}"
    );
}
